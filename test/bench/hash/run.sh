#!/usr/bin/env bash
# pg_steward benchmark: the steward_hash index access method against btree
# and core hash.
#
#   (1) index size after random inserts: a table that already has its index
#       gets ROWS random keys in random order (one INSERT ... SELECT), for
#       36-character text UUIDs (gen_random_uuid()::text) and random bigints;
#       steward_hash vs btree vs core hash.  Sizes are deterministic for a
#       given data set, so this runs once (the insert times shown with it
#       are single samples, for information only).  ROWS10M=1 repeats it
#       at 10M rows.
#   (2) single-row INSERT of new gen_random_uuid()::text keys:
#       EXCLUDE USING steward_hash (k WITH =) vs btree UNIQUE (k)
#   (3) point lookup of a random existing key (pgbench -S style) on two
#       identical tables (same rows, same physical order), steward_hash
#       exclusion constraint vs btree unique index; plus, for information,
#       the same lookups done in-server by one statement (nested loop over
#       a fifth of the keys), which leaves out the client round trip
#   (4) INSERT ... ON CONFLICT DO NOTHING, 50% of the keys already present
#   (5) CREATE INDEX on ROWS rows (text UUIDs and bigints): steward_hash vs
#       btree vs hash; and, for information, ADD CONSTRAINT on text keys:
#       EXCLUDE USING steward_hash vs UNIQUE (btree)
#
# Usage (as root; the extension must be installed):  test/bench/hash/run.sh
# Environment:
#   ROUNDS=8       rounds of (2)-(5); every round runs every variant of every
#                  workload, rotating which variant goes first
#   DURATION=6     seconds per pgbench run of (2), (3), (4)
#   ROWS=1000000   rows of the loaded tables, the size test and CREATE INDEX
#   ROWS10M=0      1: also measure (1) at 10,000,000 rows (adds about 5-8
#                  minutes on 2 cores, so the default is off)
#   CLIENTS=2      pgbench clients (and threads)
#   PORT=5491      port of the throwaway cluster (Unix socket only)
#   KEEP=0         1: keep the cluster directory (logs) at exit
# With the defaults this takes about 8 minutes on 2 cores (setup ~20 s,
# size test ~30 s, a round ~50-60 s).  Writes results.md next to this script.
#
# The machine is noisy (other clusters run on it): variants are interleaved
# within each round and the report uses medians over rounds; each sample is
# shown with the share of the CPUs that other processes used during it.
# Before every pgbench run the table is vacuumed and a checkpoint is taken,
# so every run starts from the same state.
set -euo pipefail

ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-6}
ROWS=${ROWS:-1000000}
ROWS10M=${ROWS10M:-0}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5491}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-hash
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
. "$BENCH/../lib.sh"

SETTINGS="shared_buffers=1GB, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; everything else default (synchronous_commit=on, maintenance_work_mem=64MB, max_parallel_maintenance_workers=2); C collation (initdb --no-locale)"
bench_start_cluster hash

echo "== setup: $ROWS rows per table"
t0=$SECONDS
psql_q -d "$DB" -v rows="$ROWS" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
SETUP_SECS=$((SECONDS - t0))
echo "   took ${SETUP_SECS}s"
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

# Both variants must answer lookups through their key index.
for s in sh bt; do
    plan=$(PGOPTIONS="-c search_path=$s,public" psql_q -d "$DB" -At \
        -c "SET plan_cache_mode = force_generic_plan" \
        -c "PREPARE q(int) AS SELECT v FROM look WHERE k = md5(\$1::text)::uuid::text" \
        -c "EXPLAIN (COSTS OFF) EXECUTE q(42)")
    grep -q "Index Scan using look_k" <<<"$plan" || die "lookup plan of $s: $plan"
    plan=$(PGOPTIONS="-c search_path=$s,public" psql_q -d "$DB" -At \
        -c "SET enable_hashjoin = off" -c "SET enable_mergejoin = off" -c "SET enable_bitmapscan = off" \
        -c "EXPLAIN (COSTS OFF) SELECT sum(l.v) FROM probe p JOIN look l ON l.k = p.k")
    grep -q "Index Scan using look_k" <<<"$plan" || die "in-server lookup plan of $s: $plan"
done

# ---------------------------------------------------------------------------
# Disturbance: CPU time used by processes other than our cluster and our own
# children (pgbench, psql) during a run, in percent of all CPUs.
# ---------------------------------------------------------------------------
# cpu_sample and foreign_pct come from lib.sh.

# ---------------------------------------------------------------------------
# (1) Index size after random inserts
# ---------------------------------------------------------------------------
AMS=(steward_hash btree hash)
declare -A SIZE INS_MS STATS WAL

size_test() {   # size_test LABEL SRC_TEXT SRC_INT8
    local label=$1 kt am out src
    for kt in text int8; do
        [ "$kt" = text ] && src=$2 || src=$3
        for am in "${AMS[@]}"; do
            psql_q -d "$DB" -c "CHECKPOINT"
            out=$(psql_q -d "$DB" -v am="$am" -v kt="$kt" -v src="$src" -f "$BENCH/size_one.sql")
            SIZE["$label $kt $am"]=$(cut -d'|' -f1 <<<"$out")
            INS_MS["$label $kt $am"]=$(cut -d'|' -f2 <<<"$out")
            if [ "$am" = steward_hash ]; then STATS["$label $kt"]=$(cut -d'|' -f3 <<<"$out"); fi
            WAL["$label $kt $am"]=$(cut -d'|' -f4 <<<"$out")
            echo "   $label $kt $am: $(mb "${SIZE["$label $kt $am"]}") MB, insert ${INS_MS["$label $kt $am"]} ms"
        done
    done
}

SIZE_LABELS=("$ROWS")
echo "== (1) index size after $ROWS random inserts"
t0=$SECONDS
size_test "$ROWS" src_text src_int8
if [ "$ROWS10M" = 1 ]; then
    echo "== (1) index size after 10000000 random inserts"
    psql_q -d "$DB" -c "CREATE TABLE src10_text AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, 10000000)" \
                    -c "CREATE TABLE src10_int8 AS SELECT ((random() - 0.5) * 1.8e19)::bigint AS k FROM generate_series(1, 10000000)" \
                    -c "CHECKPOINT"
    size_test 10000000 src10_text src10_int8
    psql_q -d "$DB" -c "DROP TABLE src10_text, src10_int8" -c "CHECKPOINT"
    SIZE_LABELS+=(10000000)
fi
SIZE_SECS=$((SECONDS - t0))

# ---------------------------------------------------------------------------
# (2)-(5), interleaved
# ---------------------------------------------------------------------------
declare -A SAMPLES SHOWN
VARIANTS=(sh bt)
declare -A LABEL=([sh]=steward_hash [bt]=btree [hash]=hash)

record() {   # record KEY VALUE FOREIGN_PCT
    SAMPLES["$1"]+="$2 "
    SHOWN["$1"]+="$(fmt "$2") ($3%), "
}

# pgbench_run VARIANT WORKLOAD: print TPS
pgbench_run() {
    local s=$1 w=$2 log=$LOGS/$2-$1-$r.log
    if ! PGOPTIONS="-c search_path=$s,public" "$PGBIN/pgbench" -n -M prepared \
            -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -D rows="$ROWS" \
            -f "$BENCH/$w.sql" "$DB" >"$log" 2>&1; then
        cat "$log" >&2
        die "pgbench $w failed on variant $s"
    fi
    if grep -qE 'number of failed transactions: [1-9]' "$log"; then
        cat "$log" >&2
        die "failed transactions in $w on variant $s"
    fi
    sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log"
}

timed() {   # timed SQL...: run in one psql session with \timing; print ms of the last statement
    local out
    out=$(psql_q -d "$DB" -c '\timing on' "$@") || die "failed: $*"
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out" | tail -n 1
}

declare -A WALTX   # "workload variant" -> WAL bytes per transaction, per run
measure_pgbench() {   # measure_pgbench WORKLOAD VARIANT
    local w=$1 s=$2 table c0 c1 val lsn0 ntx
    [ "$w" = lookup ] && table=look || table=w
    psql_q -d "$DB" -c "VACUUM $s.$table" -c "CHECKPOINT"
    lsn0=$(psql_q -d "$DB" -At -c "SELECT pg_current_wal_insert_lsn()")
    c0=$(cpu_sample)
    val=$(pgbench_run "$s" "$w")
    c1=$(cpu_sample)
    [ -n "$val" ] || die "no TPS for $w/$s"
    ntx=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$LOGS/$w-$s-$r.log")
    WALTX["$w $s"]+="$(psql_q -d "$DB" -At -c "SELECT round((pg_current_wal_insert_lsn() - '$lsn0'::pg_lsn) / $ntx)") "
    record "$w $s" "$val" "$(foreign_pct "$c0" "$c1")"
    line+=" $w/${LABEL[$s]}=$(fmt "$val")"
}

measure_inserver() {   # in-server lookups: probes per second
    local s=$1 c0 c1 ms n
    n=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM probe")
    c0=$(cpu_sample)
    ms=$(PGOPTIONS="-c search_path=$s,public" timed -c "SET enable_hashjoin = off" \
        -c "SET enable_mergejoin = off" -c "SET enable_bitmapscan = off" \
        -c "SELECT sum(l.v) FROM probe p JOIN look l ON l.k = p.k")
    c1=$(cpu_sample)
    record "inserver $s" "$(awk -v n="$n" -v ms="$ms" 'BEGIN {printf "%.1f", n / ms * 1000}')" "$(foreign_pct "$c0" "$c1")"
}

declare -A BUILT_SIZE
measure_build() {   # measure_build KT AM
    local kt=$1 am=$2 c0 c1 ms
    psql_q -d "$DB" -c "CHECKPOINT"
    c0=$(cpu_sample)
    ms=$(timed -c "CREATE INDEX build_k ON src_$kt USING $am (k)")
    c1=$(cpu_sample)
    BUILT_SIZE["$kt $am"]=$(psql_q -d "$DB" -At -c "SELECT pg_relation_size('build_k')")
    psql_q -d "$DB" -c "DROP INDEX build_k"
    record "build_$kt $am" "$ms" "$(foreign_pct "$c0" "$c1")"
    line+=" build_$kt/$am=$(fmt "$ms")"
}

measure_constraint() {   # measure_constraint sh|bt
    local s=$1 c0 c1 ms def
    [ "$s" = sh ] && def="EXCLUDE USING steward_hash (k WITH =)" || def="UNIQUE (k)"
    psql_q -d "$DB" -c "CHECKPOINT"
    c0=$(cpu_sample)
    ms=$(timed -c "ALTER TABLE src_text ADD CONSTRAINT src_text_k $def")
    c1=$(cpu_sample)
    psql_q -d "$DB" -c "ALTER TABLE src_text DROP CONSTRAINT src_text_k"
    record "constraint $s" "$ms" "$(foreign_pct "$c0" "$c1")"
}

rotate() {   # rotate R ITEMS...: the items, starting at index R mod n
    local r=$1; shift
    local a=("$@") n=$# i
    for ((i = 0; i < n; i++)); do echo "${a[$(((r + i) % n))]}"; done
}

echo "== $ROUNDS rounds: (2) insert, (3) lookup, (4) upsert ${DURATION}s each per variant; (5) CREATE INDEX"
t_bench=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1))/$ROUNDS:"
    mapfile -t order < <(rotate "$r" "${VARIANTS[@]}")
    mapfile -t am_order < <(rotate "$r" "${AMS[@]}")
    for w in insert lookup upsert; do
        for s in "${order[@]}"; do measure_pgbench "$w" "$s"; done
    done
    for s in "${order[@]}"; do measure_inserver "$s"; done
    for kt in text int8; do
        for am in "${am_order[@]}"; do measure_build "$kt" "$am"; done
    done
    for s in "${order[@]}"; do measure_constraint "$s"; done
    echo "$line"
done
BENCH_SECS=$((SECONDS - t_bench))

# ---------------------------------------------------------------------------
# Correctness after the runs: no duplicate keys, steward_hash indexes verify.
# ---------------------------------------------------------------------------
check="ok"
for s in sh bt; do
    dups=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM (SELECT k FROM $s.w GROUP BY k HAVING count(*) > 1) d")
    [ "$dups" = 0 ] || check="DUPLICATE KEYS in $s.w: $dups"
done
for idx in sh.look_k sh.w_k; do
    probs=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM steward.verify_index('$idx')")
    [ "$probs" = 0 ] || check="verify_index($idx) reports $probs problems"
done
ROWS_W=$(psql_q -d "$DB" -At -c "SELECT (SELECT count(*) FROM sh.w) || ' / ' || (SELECT count(*) FROM bt.w)")
W_STATS=$(psql_q -d "$DB" -At -c "SELECT format('buckets=%s pages=%s overflow=%s longest_chain=%s', buckets, pages, overflow_pages, longest_chain) FROM steward.hash_index_stats('sh.w_k')")
W_SIZES=$(psql_q -d "$DB" -At -c "SELECT round(pg_relation_size('sh.w_k') / 1048576.0, 1) || ' MB / ' || round(pg_relation_size('bt.w_k') / 1048576.0, 1) || ' MB'")
echo "correctness: $check"

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
med() { median <<<"${SAMPLES["$1"]}"; }
# paired KEY_A KEY_B: median over rounds of A/B within the same round
# (adjacent runs, so slow changes of the load on the box cancel out)
paired() {
    fmt3 "$(paste -d' ' <(tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep .) <(tr ' ' '\n' <<<"${SAMPLES["$2"]}" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median)"
}
# best KEY max|min: the least disturbed sample (others only ever slow a run down)
best() { tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep . | sort -g | if [ "$2" = max ]; then tail -n 1; else head -n 1; fi; }
bestratio() { ratio "$(best "$1" "$3")" "$(best "$2" "$3")"; }
goal() {   # goal VALUE OP LIMIT: "<= 0.5: met"
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        ok = (op == ">=") ? (v >= l) : (v <= l); printf "%s %s: %s", op, l, ok ? "met" : "MISSED" }'
}

TABLE=()
row() { TABLE+=("| $(IFS='|'; echo "$*" | sed 's/|/ | /g') |"); }

# (1)
for L in "${SIZE_LABELS[@]}"; do
    for kt in text int8; do
        sh_=${SIZE["$L $kt steward_hash"]} bt_=${SIZE["$L $kt btree"]} h_=${SIZE["$L $kt hash"]}
        rb=$(ratio "$sh_" "$bt_") rh=$(ratio "$sh_" "$h_")
        [ "$kt" = text ] && gl="$(goal "$rb" "<=" 0.5) (vs btree); $(goal "$rh" "<=" 1.0) (vs hash)" \
                         || gl="(no goal) $(goal "$rh" "<=" 1.0) (vs hash)"
        row "(1) index size, $L random $kt keys, MB (lower is better)" "$(mb "$sh_")" "$(mb "$bt_")" "$(mb "$h_")" "$rb" "$rh" "-" "-" "$gl"
    done
done
# (2)-(4)
declare -A WNAME=([insert]="(2) single-row INSERT, new text keys, TPS" \
                  [lookup]="(3) point lookup by text key, TPS" \
                  [upsert]="(4) INSERT ... ON CONFLICT DO NOTHING, 50% dups, TPS")
declare -A WGOAL=([insert]=1.2 [lookup]=1.3 [upsert]=1.0)
for w in insert lookup upsert; do
    a=$(med "$w sh") b=$(med "$w bt") q=$(ratio "$(med "$w sh")" "$(med "$w bt")")
    row "${WNAME[$w]} (higher is better)" "$(fmt "$a")" "$(fmt "$b")" "-" "$q" "-" "$(paired "$w sh" "$w bt")" "$(bestratio "$w sh" "$w bt" max)" "$(goal "$q" ">=" "${WGOAL[$w]}")"
done
a=$(med "inserver sh") b=$(med "inserver bt")
row "(3b) in-server lookups (nested loop, one statement), probes/s (info)" "$(fmt "$a")" "$(fmt "$b")" "-" "$(ratio "$a" "$b")" "-" "$(paired "inserver sh" "inserver bt")" "$(bestratio "inserver sh" "inserver bt" max)" "no goal"
# (5)
for kt in text int8; do
    a=$(med "build_$kt steward_hash") b=$(med "build_$kt btree") c=$(med "build_$kt hash")
    row "(5) CREATE INDEX, $ROWS $kt keys, ms (lower is better)" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$(paired "build_$kt steward_hash" "build_$kt btree")" "$(bestratio "build_$kt steward_hash" "build_$kt btree" min)" "report (vs hash: per-round $(paired "build_$kt steward_hash" "build_$kt hash"), best $(bestratio "build_$kt steward_hash" "build_$kt hash" min))"
done
a=$(med "constraint sh") b=$(med "constraint bt")
row "(5b) ADD CONSTRAINT EXCLUDE steward_hash vs UNIQUE, $ROWS text keys, ms (info)" "$(fmt "$a")" "$(fmt "$b")" "-" "$(ratio "$a" "$b")" "-" "$(paired "constraint sh" "constraint bt")" "$(bestratio "constraint sh" "constraint bt" min)" "no goal"

raw() {
    local k
    echo "| workload | variant | samples in round order (CPU share used by other processes) |"
    echo "|---|---|---|"
    for k in "insert sh" "insert bt" "lookup sh" "lookup bt" "upsert sh" "upsert bt" \
             "inserver sh" "inserver bt" \
             "build_text steward_hash" "build_text btree" "build_text hash" \
             "build_int8 steward_hash" "build_int8 btree" "build_int8 hash" \
             "constraint sh" "constraint bt"; do
        set -- $k
        echo "| $1 | ${LABEL[$2]:-$2} | ${SHOWN["$k"]%, } |"
    done
}

TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: steward_hash vs btree vs core hash"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $NCPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); a shared, noisy machine"
    echo "- settings: $SETTINGS"
    echo "- tables: plain heap; pgbench tables have $ROWS rows (k text NOT NULL, v int), keys md5(i)::uuid::text; schema sh has EXCLUDE USING steward_hash (k WITH =), schema bt UNIQUE (k); identical rows in identical physical order"
    echo "- rounds: $ROUNDS; in each round every variant of every workload runs once, the first variant rotating; medians over rounds"
    echo "- (2)-(4): pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION, scripts insert.sql, lookup.sql, upsert.sql; VACUUM of the table + CHECKPOINT before every run"
    echo "- (1): one pass (sizes are deterministic for the data); 10M rows: $([ "$ROWS10M" = 1 ] && echo "measured" || echo "not measured (ROWS10M=0, the default: it would add about 5-8 minutes and break the 12-minute budget)")"
    echo "- (5): CREATE INDEX on src_text / src_int8 ($ROWS random keys), psql \\timing; CHECKPOINT before each build; btree may use parallel workers (default max_parallel_maintenance_workers=2), steward_hash and hash cannot"
    echo "- time: setup ${SETUP_SECS}s, size test ${SIZE_SECS}s, rounds ${BENCH_SECS}s, total ${TOTAL_SECS}s"
    echo "- correctness after the runs: $check (no duplicate keys in sh.w / bt.w; steward.verify_index clean); rows in w after the runs (sh / bt): $ROWS_W; w index sizes (sh / bt): $W_SIZES; sh.w_k: $W_STATS"
    echo
    echo "## Results (medians; ratios are steward_hash / other)"
    echo
    echo "Columns: medians over rounds of each variant; steward/btree and steward/hash = ratio of those medians (the headline, and what the goal is checked against); \"per round\" = median over rounds of the steward/btree ratio of the two runs of the same round; \"best\" = ratio of the best runs (max TPS, min time), i.e. of the least disturbed ones."
    echo
    echo "| measurement | steward_hash | btree | hash | steward/btree | steward/hash | steward/btree per round | steward/btree best | goal |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${TABLE[@]}"
    echo
    echo "## (1) details"
    echo
    echo "| rows | keys | index | size (bytes) | insert of all rows, ms (single sample) | WAL of the insert, bytes per row (heap + index) | steward.hash_index_stats |"
    echo "|---|---|---|---:|---:|---:|---|"
    for L in "${SIZE_LABELS[@]}"; do
        for kt in text int8; do
            for am in "${AMS[@]}"; do
                st=""; [ "$am" = steward_hash ] && st=${STATS["$L $kt"]}
                echo "| $L | $kt | $am | ${SIZE["$L $kt $am"]} | ${INS_MS["$L $kt $am"]} | $(awk -v w="${WAL["$L $kt $am"]}" -v n="$L" 'BEGIN {printf "%.1f", w / n}') | $st |"
            done
        done
    done
    echo
    echo "Sizes of the indexes built by CREATE INDEX in (5) (last round), for comparison: " \
         "text: steward_hash $(mb "${BUILT_SIZE["text steward_hash"]}") MB, btree $(mb "${BUILT_SIZE["text btree"]}") MB, hash $(mb "${BUILT_SIZE["text hash"]}") MB;" \
         "int8: steward_hash $(mb "${BUILT_SIZE["int8 steward_hash"]}") MB, btree $(mb "${BUILT_SIZE["int8 btree"]}") MB, hash $(mb "${BUILT_SIZE["int8 hash"]}") MB."
    echo
    echo "WAL written per pgbench transaction (median over runs; all of the run's WAL divided by its transactions): insert: steward_hash $(median <<<"${WALTX["insert sh"]}") B, btree $(median <<<"${WALTX["insert bt"]}") B; upsert: steward_hash $(median <<<"${WALTX["upsert sh"]}") B, btree $(median <<<"${WALTX["upsert bt"]}") B."
    echo
    echo "## Raw samples"
    echo
    echo "TPS for insert/lookup/upsert, probes/s for inserver, ms for build/constraint."
    echo
    raw
} >"$RESULTS"

echo
echo "== results (also in $RESULTS)"
echo "| measurement | steward_hash | btree | hash | steward/btree | steward/hash | steward/btree per round | steward/btree best | goal |"
printf '%s\n' "${TABLE[@]}"
echo "WAL per transaction: insert sh $(median <<<"${WALTX["insert sh"]}") B / bt $(median <<<"${WALTX["insert bt"]}") B; upsert sh $(median <<<"${WALTX["upsert sh"]}") B / bt $(median <<<"${WALTX["upsert bt"]}") B"
echo "correctness: $check; total ${TOTAL_SECS}s"
[ "$check" = ok ]

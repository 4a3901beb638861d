#!/usr/bin/env bash
# pg_steward benchmark: the steward_hash index access method against btree
# and core hash.
#
#   (1) index size after random inserts: a table that already has its index
#       gets ROWS random keys in random order (one INSERT ... SELECT), for
#       36-character text UUIDs (gen_random_uuid()::text) and random bigints;
#       steward_hash vs btree vs core hash.  Sizes are deterministic for a
#       given data set, so this runs once (the insert times shown with it
#       are single samples, for information only).
#   (2) single-row INSERT of new gen_random_uuid()::text keys:
#       EXCLUDE USING steward_hash (k WITH =) vs btree UNIQUE (k)
#   (3) point lookup of a random existing key (pgbench -S style) on two
#       identical tables (same rows, same physical order), steward_hash
#       exclusion constraint vs btree unique index; plus (3b) the same
#       lookups done in-server by one statement (nested loop over a fifth
#       of the keys), which leaves out the client round trip, also against
#       a third copy of the table with EXCLUDE USING hash (core)
#   (4) INSERT ... ON CONFLICT DO NOTHING, 50% of the keys already present
#   (5) CREATE INDEX on ROWS rows (text UUIDs and bigints): steward_hash vs
#       btree vs hash; and, for information, ADD CONSTRAINT on text keys:
#       EXCLUDE USING steward_hash vs UNIQUE (btree)
#   (6) in-server bulk insert: INSERT ... SELECT of the ROWS random text
#       UUIDs of src_text into an empty table that has (a) a plain index:
#       steward_hash / btree / hash, (b) a key constraint: EXCLUDE USING
#       steward_hash / UNIQUE (btree) / EXCLUDE USING hash; BULK_ROUNDS
#       rounds of all six, the first variant rotating
#   (7) ROWS10M=1 only (not part of CI): 10,000,000 random text UUIDs
#       inserted by one INSERT ... SELECT into an empty table with EXCLUDE
#       USING steward_hash / UNIQUE / EXCLUDE USING hash: insert time,
#       index size, and 200,000 in-server lookups of random existing keys
#       (nested loop), three rounds of lookups alternating the tables
#
# (3b), (6) and (7) report wall time and the CPU time of the backend that
# ran the statement (/proc/PID/stat, utime + stime): on a shared machine
# the wall time also counts the time the backend waited for a CPU, while
# the CPU time is what the statement itself cost (it still pays for caches
# that others evict).  These statements run with jit = off.
#
# Usage (as root; the extension must be installed):  test/bench/hash/run.sh
# Environment:
#   ROUNDS=8       rounds of (2)-(5); every round runs every variant of every
#                  workload, rotating which variant goes first
#   DURATION=6     seconds per pgbench run of (2), (3), (4)
#   ROWS=1000000   rows of the loaded tables, the size test and CREATE INDEX
#   BULK_ROUNDS=5  rounds of (6)
#   ROWS10M=0      1: also run (7) (adds about 10 minutes on 2 cores, so
#                  the default is off)
#   CLIENTS=2      pgbench clients (and threads)
#   PORT=5491      port of the throwaway cluster (Unix socket only)
#   KEEP=0         1: keep the cluster directory (logs) at exit
# With the defaults this takes about 12 minutes on a quiet 2-core machine (setup ~20 s,
# size test ~30 s, a round ~50-60 s, (6) ~4 min).  Writes results.md next to
# this script.
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
BULK_ROUNDS=${BULK_ROUNDS:-5}
BIG_ROWS=${BIG_ROWS:-10000000}   # rows of (7); smaller only to try the script
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
for s in sh bt ch; do
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
SIZE_SECS=$((SECONDS - t0))

# ---------------------------------------------------------------------------
# (2)-(5), interleaved
# ---------------------------------------------------------------------------
declare -A SAMPLES SHOWN
VARIANTS=(sh bt)
declare -A LABEL=([sh]=steward_hash [bt]=btree [ch]=hash [hash]=hash)

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

# cpu_timed SQL [SETUP]: run SETUP, then SQL, in one session with jit off;
# print "wall_ms cpu_ms", the CPU time being the backend's own (utime +
# stime from /proc/PID/stat, in clock ticks).
HZ=$(getconf CLK_TCK)
cpu_timed() {
    local f=$LOGS/cpu_timed.sql out wall t0 t1
    {
        echo "SET jit = off;"
        echo "${2:-}"
        echo 'SELECT pg_backend_pid() AS pid \gset'
        echo '\setenv BENCH_PID :pid'
        echo "\\! awk '{print \$14 + \$15}' /proc/\$BENCH_PID/stat > $LOGS/cpu0"
        echo '\timing on'
        echo "$1;"
        echo '\timing off'
        echo "\\! awk '{print \$14 + \$15}' /proc/\$BENCH_PID/stat > $LOGS/cpu1"
    } >"$f"
    out=$(psql_q -d "$DB" -f "$f") || die "failed: $1"
    wall=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out" | tail -n 1)
    t0=$(cat "$LOGS/cpu0") t1=$(cat "$LOGS/cpu1")
    [ -n "$wall" ] && [ -n "$t0" ] && [ -n "$t1" ] || die "no timing for: $1"
    echo "$wall $(awk -v t="$((t1 - t0))" -v hz="$HZ" 'BEGIN {printf "%.0f", t * 1000 / hz}')"
}
per_sec() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.1f", n / ms * 1000}'; }

INSERVER_SET="SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_bitmapscan = off;"
measure_inserver() {   # in-server lookups: probes per second (wall and CPU)
    local s=$1 c0 c1 out n
    n=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM probe")
    c0=$(cpu_sample)
    out=$(PGOPTIONS="-c search_path=$s,public" cpu_timed \
        "SELECT sum(l.v) FROM probe p JOIN look l ON l.k = p.k" "$INSERVER_SET")
    c1=$(cpu_sample)
    record "inserver $s" "$(per_sec "$n" "${out% *}")" "$(foreign_pct "$c0" "$c1")"
    record "inservercpu $s" "$(per_sec "$n" "${out#* }")" "$(foreign_pct "$c0" "$c1")"
}

# (6) bulk insert into an empty table with a plain index or a key constraint
declare -A BULK_DEF=(
    [sh_plain]="CREATE INDEX bulk_k ON bulk USING steward_hash (k)"
    [bt_plain]="CREATE INDEX bulk_k ON bulk USING btree (k)"
    [h_plain]="CREATE INDEX bulk_k ON bulk USING hash (k)"
    [sh_key]="ALTER TABLE bulk ADD CONSTRAINT bulk_k EXCLUDE USING steward_hash (k WITH =)"
    [bt_key]="ALTER TABLE bulk ADD CONSTRAINT bulk_k UNIQUE (k)"
    [h_key]="ALTER TABLE bulk ADD CONSTRAINT bulk_k EXCLUDE USING hash (k WITH =)")
BULK_VARIANTS=(sh_plain bt_plain h_plain sh_key bt_key h_key)
measure_bulk() {   # measure_bulk VARIANT: ms (wall and CPU)
    local v=$1 c0 c1 out
    psql_q -d "$DB" -c "DROP TABLE IF EXISTS bulk" -c "CREATE TABLE bulk (k text NOT NULL)" \
        -c "${BULK_DEF[$v]}" -c "CHECKPOINT"
    c0=$(cpu_sample)
    out=$(cpu_timed "INSERT INTO bulk SELECT k FROM src_text")
    c1=$(cpu_sample)
    record "bulk $v" "${out% *}" "$(foreign_pct "$c0" "$c1")"
    record "bulkcpu $v" "${out#* }" "$(foreign_pct "$c0" "$c1")"
    line+=" $v=$(fmt "${out% *}")/$(fmt "${out#* }" 0)"
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
    mapfile -t ch_order < <(rotate "$r" sh bt ch)
    for s in "${ch_order[@]}"; do measure_inserver "$s"; done
    for kt in text int8; do
        for am in "${am_order[@]}"; do measure_build "$kt" "$am"; done
    done
    for s in "${order[@]}"; do measure_constraint "$s"; done
    echo "$line"
done
BENCH_SECS=$((SECONDS - t_bench))

echo "== (6) $BULK_ROUNDS rounds: INSERT ... SELECT of $ROWS random text keys into an empty table (ms wall/CPU)"
t_bulk=$SECONDS
for ((r = 0; r < BULK_ROUNDS; r++)); do
    line="round $((r + 1))/$BULK_ROUNDS:"
    mapfile -t bulk_order < <(rotate "$r" "${BULK_VARIANTS[@]}")
    for v in "${bulk_order[@]}"; do measure_bulk "$v"; done
    echo "$line"
done
psql_q -d "$DB" -c "DROP TABLE IF EXISTS bulk" -c "CHECKPOINT"
BULK_SECS=$((SECONDS - t_bulk))

# ---------------------------------------------------------------------------
# (7) 10M rows (ROWS10M=1): insert, size, lookups
# ---------------------------------------------------------------------------
declare -A BIG_DEF=(
    [steward_hash]="EXCLUDE USING steward_hash (k WITH =)"
    [btree]="UNIQUE (k)"
    [hash]="EXCLUDE USING hash (k WITH =)")
declare -A BIG_SIZE
BIG_STATS=""
BIG_SECS=0
BIG_N=0
if [ "$ROWS10M" = 1 ]; then
    echo "== (7) $BIG_ROWS random text keys: insert, size, 200,000 lookups"
    t_big=$SECONDS
    psql_q -d "$DB" -c "SELECT setseed(0.17)" \
        -c "CREATE TABLE src10 AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, $BIG_ROWS)" \
        -c "CREATE TABLE probe10 AS SELECT k FROM src10 TABLESAMPLE SYSTEM (4) REPEATABLE (7) ORDER BY random() LIMIT 200000" \
        -c "VACUUM ANALYZE src10, probe10" -c "CHECKPOINT"
    for am in "${AMS[@]}"; do
        psql_q -d "$DB" -c "CREATE TABLE big_$am (k text NOT NULL, v int NOT NULL DEFAULT 1, CONSTRAINT big_${am}_k ${BIG_DEF[$am]})" -c "CHECKPOINT"
        c0=$(cpu_sample)
        out=$(cpu_timed "INSERT INTO big_$am (k) SELECT k FROM src10")
        c1=$(cpu_sample)
        record "big_insert $am" "${out% *}" "$(foreign_pct "$c0" "$c1")"
        record "big_insertcpu $am" "${out#* }" "$(foreign_pct "$c0" "$c1")"
        BIG_SIZE[$am]=$(psql_q -d "$DB" -At -c "SELECT pg_relation_size('big_${am}_k')")
        echo "   $am: insert ${out% *} ms (CPU ${out#* } ms), index $(mb "${BIG_SIZE[$am]}") MB"
        psql_q -d "$DB" -c "VACUUM ANALYZE big_$am" -c "CHECKPOINT"
    done
    BIG_STATS=$(psql_q -d "$DB" -At -c "SELECT format('buckets=%s pages=%s overflow=%s longest_chain=%s fill=%s', buckets, pages, overflow_pages, longest_chain, round(fill::numeric, 3)) FROM steward.hash_index_stats('big_steward_hash_k')")
    BIG_N=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM probe10")
    for ((r = 0; r < 3; r++)); do
        mapfile -t am_order < <(rotate "$r" "${AMS[@]}")
        for am in "${am_order[@]}"; do
            q="SELECT sum(l.v) FROM probe10 p JOIN big_$am l ON l.k = p.k"
            plan=$(psql_q -d "$DB" -At -c "SET enable_hashjoin = off" -c "SET enable_mergejoin = off" \
                -c "SET enable_bitmapscan = off" -c "EXPLAIN (COSTS OFF) $q")
            grep -q "Index Scan using big_${am}_k" <<<"$plan" || die "10M lookup plan of $am: $plan"
            c0=$(cpu_sample)
            out=$(cpu_timed "$q" "$INSERVER_SET")
            c1=$(cpu_sample)
            record "big_lookup $am" "$(per_sec "$BIG_N" "${out% *}")" "$(foreign_pct "$c0" "$c1")"
            record "big_lookupcpu $am" "$(per_sec "$BIG_N" "${out#* }")" "$(foreign_pct "$c0" "$c1")"
        done
        echo "   lookups round $((r + 1))/3 done"
    done
    big_probs=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM steward.verify_index('big_steward_hash_k')")
    [ "$big_probs" = 0 ] || die "verify_index(big_steward_hash_k) reports $big_probs problems"
    psql_q -d "$DB" -c "DROP TABLE src10, probe10, big_steward_hash, big_btree, big_hash" -c "CHECKPOINT"
    BIG_SECS=$((SECONDS - t_big))
fi

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
for k in inserver inservercpu; do
    a=$(med "$k sh") b=$(med "$k bt") c=$(med "$k ch") q=$(ratio "$(med "$k sh")" "$(med "$k bt")")
    [ "$k" = inserver ] && what="wall time" || what="backend CPU time"
    row "(3b) in-server lookups (nested loop, one statement), probes/s of $what (higher is better)" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$q" "$(ratio "$a" "$c")" "$(paired "$k sh" "$k bt")" "$(bestratio "$k sh" "$k bt" max)" "$(goal "$q" ">=" 1.3) (vs btree)"
done
# (5)
for kt in text int8; do
    a=$(med "build_$kt steward_hash") b=$(med "build_$kt btree") c=$(med "build_$kt hash")
    row "(5) CREATE INDEX, $ROWS $kt keys, ms (lower is better)" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$(paired "build_$kt steward_hash" "build_$kt btree")" "$(bestratio "build_$kt steward_hash" "build_$kt btree" min)" "report (vs hash: per-round $(paired "build_$kt steward_hash" "build_$kt hash"), best $(bestratio "build_$kt steward_hash" "build_$kt hash" min))"
done
a=$(med "constraint sh") b=$(med "constraint bt")
row "(5b) ADD CONSTRAINT EXCLUDE steward_hash vs UNIQUE, $ROWS text keys, ms (info)" "$(fmt "$a")" "$(fmt "$b")" "-" "$(ratio "$a" "$b")" "-" "$(paired "constraint sh" "constraint bt")" "$(bestratio "constraint sh" "constraint bt" min)" "no goal"

# (6)
for k in bulk bulkcpu; do
    [ "$k" = bulk ] && what="wall" || what="backend CPU"
    for f in plain key; do
        a=$(med "$k sh_$f") b=$(med "$k bt_$f") c=$(med "$k h_$f")
        rb=$(ratio "$a" "$b") rh=$(ratio "$a" "$c")
        if [ "$f" = plain ]; then
            name="(6a) INSERT ... SELECT of $ROWS text keys, plain index, ms $what (lower is better)"
            gl="$(goal "$rh" "<=" 1.0) (vs hash)"
        else
            name="(6b) INSERT ... SELECT of $ROWS text keys, EXCLUDE steward_hash / UNIQUE / EXCLUDE hash, ms $what (lower is better)"
            gl="$(goal "$rh" "<=" 1.0) (vs hash); $(goal "$rb" "<=" 0.833) (vs UNIQUE, i.e. >= 1.2x faster)"
        fi
        row "$name" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$rb" "$rh" "$(paired "$k sh_$f" "$k bt_$f")" "$(bestratio "$k sh_$f" "$k bt_$f" min)" "$gl (vs hash per round $(paired "$k sh_$f" "$k h_$f"))"
    done
done
# (7)
if [ "$ROWS10M" = 1 ]; then
    for k in big_insert big_insertcpu; do
        [ "$k" = big_insert ] && what="wall" || what="backend CPU"
        a=$(med "$k steward_hash") b=$(med "$k btree") c=$(med "$k hash")
        row "(7) $BIG_ROWS rows: INSERT ... SELECT with EXCLUDE steward_hash / UNIQUE / EXCLUDE hash, ms $what (one sample)" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "-" "-" "report"
    done
    a=${BIG_SIZE[steward_hash]} b=${BIG_SIZE[btree]} c=${BIG_SIZE[hash]}
    row "(7) $BIG_ROWS rows: index size, MB (lower is better)" "$(mb "$a")" "$(mb "$b")" "$(mb "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "-" "-" "$(goal "$(ratio "$a" "$b")" "<=" 0.5) (vs btree)"
    for k in big_lookup big_lookupcpu; do
        [ "$k" = big_lookup ] && what="wall time" || what="backend CPU time"
        a=$(med "$k steward_hash") b=$(med "$k btree") c=$(med "$k hash")
        row "(7) $BIG_ROWS rows: $BIG_N in-server lookups, probes/s of $what (higher is better)" "$(fmt "$a")" "$(fmt "$b")" "$(fmt "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$(paired "$k steward_hash" "$k btree")" "$(bestratio "$k steward_hash" "$k btree" max)" "$(goal "$(ratio "$a" "$b")" ">=" 1.3) (vs btree)"
    done
fi

raw() {
    local k
    echo "| workload | variant | samples in round order (CPU share used by other processes) |"
    echo "|---|---|---|"
    for k in "insert sh" "insert bt" "lookup sh" "lookup bt" "upsert sh" "upsert bt" \
             "inserver sh" "inserver bt" "inserver ch" "inservercpu sh" "inservercpu bt" "inservercpu ch" \
             "build_text steward_hash" "build_text btree" "build_text hash" \
             "build_int8 steward_hash" "build_int8 btree" "build_int8 hash" \
             "constraint sh" "constraint bt" \
             "bulk sh_plain" "bulk bt_plain" "bulk h_plain" "bulk sh_key" "bulk bt_key" "bulk h_key" \
             "bulkcpu sh_plain" "bulkcpu bt_plain" "bulkcpu h_plain" "bulkcpu sh_key" "bulkcpu bt_key" "bulkcpu h_key"; do
        set -- $k
        echo "| $1 | ${LABEL[$2]:-$2} | ${SHOWN["$k"]%, } |"
    done
    if [ "$ROWS10M" = 1 ]; then
        for k in big_insert big_insertcpu big_lookup big_lookupcpu; do
            for am in "${AMS[@]}"; do echo "| $k | $am | ${SHOWN["$k $am"]%, } |"; done
        done
    fi
}

TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: steward_hash vs btree vs core hash"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $NCPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); a shared, noisy machine"
    echo "- settings: $SETTINGS"
    echo "- tables: plain heap; pgbench tables have $ROWS rows (k text NOT NULL, v int), keys md5(i)::uuid::text; schema sh has EXCLUDE USING steward_hash (k WITH =), schema bt UNIQUE (k), schema ch (look only) EXCLUDE USING hash (k WITH =); identical rows in identical physical order"
    echo "- rounds: $ROUNDS; in each round every variant of every workload runs once, the first variant rotating; medians over rounds"
    echo "- (2)-(4): pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION, scripts insert.sql, lookup.sql, upsert.sql; VACUUM of the table + CHECKPOINT before every run"
    echo "- (1): one pass (sizes are deterministic for the data)"
    echo "- (3b), (6), (7): one psql session per sample, jit = off; wall time from psql \\timing, CPU time = the backend's utime + stime (/proc/PID/stat) over the statement; (3b) also against schema ch (the same look table with EXCLUDE USING hash)"
    echo "- (6): $BULK_ROUNDS rounds of INSERT INTO bulk SELECT k FROM src_text ($ROWS gen_random_uuid()::text keys, random order) into a new empty table with its index or constraint; CHECKPOINT before each"
    echo "- (7) 10M rows: $([ "$ROWS10M" = 1 ] && echo "measured: one insert per variant, 3 rounds of $BIG_N lookups; steward_hash index after the insert: $BIG_STATS" || echo "not measured (ROWS10M=0, the default: it adds about 10 minutes)")"
    echo "- (5): CREATE INDEX on src_text / src_int8 ($ROWS random keys), psql \\timing; CHECKPOINT before each build; btree may use parallel workers (default max_parallel_maintenance_workers=2), steward_hash and hash cannot"
    echo "- time: setup ${SETUP_SECS}s, size test ${SIZE_SECS}s, rounds ${BENCH_SECS}s, bulk inserts ${BULK_SECS}s, 10M ${BIG_SECS}s, total ${TOTAL_SECS}s"
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
    echo "TPS for insert/lookup/upsert, probes/s for inserver / inservercpu / big_lookup / big_lookupcpu (of wall / CPU time), ms for build / constraint / bulk / big_insert (wall) and bulkcpu / big_insertcpu (backend CPU)."
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

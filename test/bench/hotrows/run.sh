#!/usr/bin/env bash
# pg_steward benchmark: one UPDATE of 100k rows of a versioned steward
# table with a primary key (so hot-row tracking runs), against the same
# UPDATE on heap, for two builds side by side in one run: BEFORE (the hot
# rows sketch formats the key text of every new key it sees) and AFTER (it
# copies the key's value images and formats them when steward.hot_rows is
# read).  Issue 18 section 2.
#
# Two throwaway clusters, one per build, run at the same time on the same
# machine with the same settings; rounds interleave the four runs (build x
# heap/steward), the first of them rotating.  Each run: VACUUM + CHECKPOINT,
# then one `UPDATE t SET amount = amount + 1 WHERE id <= 100000` timed by
# psql \timing.
#
# Usage (as root):
#   BEFORE_PG_CONFIG=/opt/pg-x-before/.../pg_config AFTER_PG_CONFIG=/opt/pg-x/.../pg_config \
#       test/bench/hotrows/run.sh
# where each PostgreSQL tree has its build of pg_steward installed, e.g.
#   cp -a /opt/pg-x /opt/pg-x-before; git worktree add /var/tmp/before REV
#   make -C /var/tmp/before PG_CONFIG=/opt/pg-x-before/.../pg_config install
# Environment: ROUNDS=21, ROWS=200000, BULK=100000, PORT=5495 (and PORT+1),
# KEEP=0.  Writes results.md next to this script.
set -euo pipefail

ROUNDS=${ROUNDS:-21}
ROWS=${ROWS:-200000}
BULK=${BULK:-100000}
PORT0=${PORT:-5495}
KEEP=${KEEP:-0}
: "${BEFORE_PG_CONFIG:?set BEFORE_PG_CONFIG}" "${AFTER_PG_CONFIG:?set AFTER_PG_CONFIG}"

BENCH=$(cd "$(dirname "$0")" && pwd)
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2];
    else print (v[NR/2] + v[NR/2+1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
[ "$(id -u)" -eq 0 ] || die "run as root (the clusters run as postgres)"

declare -A BIN PORTS BASES
BIN[before]=$("$BEFORE_PG_CONFIG" --bindir)
BIN[after]=$("$AFTER_PG_CONFIG" --bindir)
PORTS[before]=$PORT0
PORTS[after]=$((PORT0 + 1))
for b in before after; do BASES[$b]=/var/tmp/pg_steward-bench-hotrows-$b; done

cleanup() {
    local rc=$?
    for b in before after; do
        [ -f "${BASES[$b]}/data/postmaster.pid" ] &&
            runuser -u postgres -- "${BIN[$b]}/pg_ctl" -D "${BASES[$b]}/data" -m fast -w stop >/dev/null 2>&1 || true
        [ "$KEEP" = 1 ] || rm -rf "${BASES[$b]}"
    done
    exit "$rc"
}
trap cleanup EXIT

psql_b() {   # psql_b BUILD args...
    local b=$1; shift
    "${BIN[$b]}/psql" -X -q -v ON_ERROR_STOP=1 -h "${BASES[$b]}/sock" -p "${PORTS[$b]}" -U postgres "$@"
}

for b in before after; do
    base=${BASES[$b]}
    rm -rf "$base"; mkdir -p "$base/data" "$base/sock"; chown -R postgres: "$base"; chmod 700 "$base/data"
    runuser -u postgres -- "${BIN[$b]}/initdb" -D "$base/data" -A trust -E UTF8 --no-locale >/dev/null
    cat >>"$base/data/postgresql.conf" <<EOF
shared_preload_libraries = 'pg_steward'
port = ${PORTS[$b]}
listen_addresses = ''
unix_socket_directories = '$base/sock'
shared_buffers = 512MB
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off
EOF
    runuser -u postgres -- "${BIN[$b]}/pg_ctl" -D "$base/data" -l "$base/server.log" -w start >/dev/null
    psql_b "$b" -d postgres -c "CREATE DATABASE $DB"
    psql_b "$b" -d "$DB" -v rows="$ROWS" >/dev/null <<'EOF'
CREATE EXTENSION pg_steward;
CREATE TABLE h (id bigint PRIMARY KEY, version bigint, status text NOT NULL, amount int NOT NULL,
                note text NOT NULL) USING heap;
CREATE TABLE s (LIKE h INCLUDING ALL) USING steward;
INSERT INTO h SELECT i, 1, 'active', (i * 7) % 10000, md5(i::text) FROM generate_series(1, :rows) i;
INSERT INTO s SELECT * FROM h ORDER BY id;
SELECT steward.track_versions('s', 'version');
VACUUM (FREEZE, ANALYZE);
EOF
done
VERSION=$(psql_b after -d "$DB" -At -c "SELECT version()")

declare -A SAMPLES
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
RUNS=()
for b in before after; do for t in h s; do RUNS+=("$b $t"); done; done
echo "== $ROUNDS rounds of UPDATE of $BULK rows: before/after x heap/steward"
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for ((i = 0; i < ${#RUNS[@]}; i++)); do
        read -r b t <<<"${RUNS[$(((r + i) % ${#RUNS[@]}))]}"
        psql_b "$b" -d "$DB" -c "VACUUM $t" -c "CHECKPOINT"
        out=$(psql_b "$b" -d "$DB" -c '\timing on' -c "UPDATE $t SET amount = amount + 1 WHERE id <= $BULK")
        ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out")
        [ -n "$ms" ] || die "no time for $b/$t"
        SAMPLES["$b $t"]+="$ms "
        line+=" $b/$t=${ms}"
    done
    echo "$line"
done
# The sketch saw keys: read it on both (the after build formats them now).
declare -A HOT
for b in before after; do
    HOT[$b]=$(psql_b "$b" -d "$DB" -At -c "SELECT count(*) || ' keys, e.g. ' || min(key_text) FROM steward.hot_rows WHERE relid = 's'::regclass")
done

med() { median <<<"${SAMPLES["$1"]}"; }
# per round ratio steward/heap of the same build
paired() {
    paste -d' ' <(tr ' ' '\n' <<<"${SAMPLES["$1 s"]}" | grep .) <(tr ' ' '\n' <<<"${SAMPLES["$1 h"]}" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median
}
best() { tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep . | sort -g | head -n 1; }
rb=$(ratio "$(med "before s")" "$(med "before h")")
ra=$(ratio "$(med "after s")" "$(med "after h")")
TOTAL=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: UPDATE of $BULK rows, hot-row key formatting before / after"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $VERSION; CPUs: $(nproc), a shared machine (other workers' tests ran meanwhile)"
    echo "- builds: before = $BEFORE_PG_CONFIG, after = $AFTER_PG_CONFIG (two clusters side by side, same settings: shared_buffers=512MB, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; everything else default)"
    echo "- tables: h (heap) and s (steward, versions tracked on \"version\"), $ROWS rows each, id bigint PRIMARY KEY; run: VACUUM + CHECKPOINT, then \`UPDATE t SET amount = amount + 1 WHERE id <= $BULK\` (psql \\\\timing); $ROUNDS rounds, the four runs interleaved with the first rotating; medians"
    echo "- steward.hot_rows afterwards: before: ${HOT[before]}; after: ${HOT[after]}"
    echo "- time: ${TOTAL}s"
    echo
    echo "| build | heap ms | steward ms | steward / heap (of medians) | median of per-round ratios | best runs (min / min) |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| before (key text formatted for every new key) | $(med "before h") | $(med "before s") | $rb | $(paired before) | $(ratio "$(best "before s")" "$(best "before h")") |"
    echo "| after (key images, formatted when read) | $(med "after h") | $(med "after s") | $ra | $(paired after) | $(ratio "$(best "after s")" "$(best "after h")") |"
    echo
    echo "Raw samples (ms, round order):"
    echo
    for k in "before h" "before s" "after h" "after s"; do echo "- $k: ${SAMPLES[$k]}"; done
} >"$RESULTS"
cat "$RESULTS"

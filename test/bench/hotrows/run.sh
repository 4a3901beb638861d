#!/usr/bin/env bash
# pg_steward benchmark: one UPDATE of 100k rows of a versioned steward
# table with a primary key (so hot-row tracking runs), against the same
# UPDATE on heap, for two builds of pg_steward side by side in one run,
# BEFORE and AFTER a change (BEFORE_LABEL / AFTER_LABEL name them in
# results.md).  Issue 18 section 2.
#
# Two throwaway clusters, one per build, run at the same time on the same
# machine with the same settings; rounds interleave the four runs (build x
# heap/steward), the first of them rotating.  Each run: VACUUM + CHECKPOINT,
# then one `UPDATE t SET amount = amount + 1 WHERE id <= 100000` timed by
# psql \timing (wall) and by the backend's own CPU time (the first field of
# /proc/self/schedstat, read with pg_read_file before and after, in the
# same session): on a machine shared with other work the wall time mostly
# measures the run queue, the CPU time what the UPDATE costs.
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

BASE=/var/tmp/pg_steward-bench-hotrows
. "$BENCH/../lib.sh"

# What the two builds are (shown in results.md)
declare -A LABEL=([before]="${BEFORE_LABEL:-before}" [after]="${AFTER_LABEL:-after}")
SIDE_BIN[before]=$("$BEFORE_PG_CONFIG" --bindir)
SIDE_BIN[after]=$("$AFTER_PG_CONFIG" --bindir)
SIDE_PORT[before]=$PORT0
SIDE_PORT[after]=$((PORT0 + 1))
for b in before after; do SIDE_BASE[$b]=$BASE-$b; done
psql_b() { side_psql "$@"; }

for b in before after; do
    side_start "$b" <<EOF
shared_preload_libraries = 'pg_steward'
shared_buffers = 512MB
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off
EOF
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

declare -A SAMPLES CPU
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
RUNS=()
for b in before after; do for t in h s; do RUNS+=("$b $t"); done; done
echo "== $ROUNDS rounds of UPDATE of $BULK rows: before/after x heap/steward"
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1)):"
    for ((i = 0; i < ${#RUNS[@]}; i++)); do
        read -r b t <<<"${RUNS[$(((r + i) % ${#RUNS[@]}))]}"
        psql_b "$b" -d "$DB" -c "VACUUM $t" -c "CHECKPOINT"
        out=$(psql_b "$b" -d "$DB" -At \
                  -c "SELECT 'cpu0 ' || split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)" \
                  -c '\timing on' -c "UPDATE $t SET amount = amount + 1 WHERE id <= $BULK" -c '\timing off' \
                  -c "SELECT 'cpu1 ' || split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)")
        ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out")
        cpu=$(awk '/^cpu0 / {a = $2} /^cpu1 / {b = $2} END {if (a != "" && b != "") printf "%.3f", (b - a) / 1e6}' <<<"$out")
        [ -n "$ms" ] && [ -n "$cpu" ] || die "no time for $b/$t: $out"
        SAMPLES["$b $t"]+="$ms "
        CPU["$b $t"]+="$cpu "
        line+=" $b/$t=${ms} (cpu ${cpu})"
    done
    echo "$line"
done
# The sketch saw keys: read it on both (the after build formats them now).
declare -A HOT
for b in before after; do
    HOT[$b]=$(psql_b "$b" -d "$DB" -At -c "SELECT count(*) || ' keys, e.g. ' || min(key_text) FROM steward.hot_rows WHERE relid = 's'::regclass")
done

med() { median <<<"${SAMPLES["$1"]}"; }
cmed() { median <<<"${CPU["$1"]}"; }
# per round ratio steward/heap of the same build (PAIRED=CPU: of CPU times)
paired() {
    local -n arr=${2:-SAMPLES}
    paste -d' ' <(tr ' ' '\n' <<<"${arr["$1 s"]}" | grep .) <(tr ' ' '\n' <<<"${arr["$1 h"]}" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median
}
best() { tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep . | sort -g | head -n 1; }
cbest() { tr ' ' '\n' <<<"${CPU["$1"]}" | grep . | sort -g | head -n 1; }
rb=$(ratio "$(med "before s")" "$(med "before h")")
ra=$(ratio "$(med "after s")" "$(med "after h")")
crb=$(ratio "$(cmed "before s")" "$(cmed "before h")")
cra=$(ratio "$(cmed "after s")" "$(cmed "after h")")
TOTAL=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: UPDATE of $BULK rows of a versioned steward table with a primary key vs heap, two builds side by side"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $VERSION; CPUs: $(nproc), a shared machine (other workers' tests ran meanwhile)"
    echo "- builds: before = $BEFORE_PG_CONFIG, after = $AFTER_PG_CONFIG (two clusters side by side, same settings: shared_buffers=512MB, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; everything else default)"
    echo "- tables: h (heap) and s (steward, versions tracked on \"version\"), $ROWS rows each, id bigint PRIMARY KEY; run: VACUUM + CHECKPOINT, then \`UPDATE t SET amount = amount + 1 WHERE id <= $BULK\` (psql \\\\timing); $ROUNDS rounds, the four runs interleaved with the first rotating; medians"
    echo "- steward.hot_rows afterwards: before: ${HOT[before]}; after: ${HOT[after]}"
    echo "- time: ${TOTAL}s"
    echo
    echo "| build | time | heap ms | steward ms | steward / heap (of medians) | median of per-round ratios | best runs (min / min) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for b in before after; do
        echo "| ${LABEL[$b]} | backend CPU | $(cmed "$b h") | $(cmed "$b s") | $([ "$b" = before ] && echo "$crb" || echo "$cra") | $(paired "$b" CPU) | $(ratio "$(cbest "$b s")" "$(cbest "$b h")") |"
        echo "| ${LABEL[$b]} | wall | $(med "$b h") | $(med "$b s") | $([ "$b" = before ] && echo "$rb" || echo "$ra") | $(paired "$b") | $(ratio "$(best "$b s")" "$(best "$b h")") |"
    done
    echo
    echo "Raw samples (ms, round order; wall, then the backend's CPU time):"
    echo
    for k in "before h" "before s" "after h" "after s"; do echo "- $k wall: ${SAMPLES[$k]}"; echo "- $k CPU: ${CPU[$k]}"; done
    echo
    echo "Load average (1/5/15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS"
cat "$RESULTS"

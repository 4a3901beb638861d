#!/usr/bin/env bash
# pg_steward benchmark: throughput by number of clients, with pg_steward and
# without (issue 18 section 3).  Not part of CI.
#
# Two throwaway clusters of the same PostgreSQL, up side by side with the
# same settings:
#   with     shared_preload_libraries = 'pg_steward' (statements'
#            histograms, wait sampler, governor counters, hot rows), table
#            accounts USING steward with versions tracked on "version" and a
#            state machine attached to "status" (primary key: hot rows run)
#   without  no pg_steward at all, the same table USING heap
# Workload (same on both, pgbench -M prepared): one autocommit UPDATE of a
# random account's balance, then a SELECT of another random account
# (oltp.sql).  synchronous_commit = off on both, so the commit flush does
# not hide CPU and lock costs (with it on, a 2-core machine measures its
# disk).  For each client count (CLIENTS_LIST), ROUNDS rounds run both
# clusters for DURATION seconds each, the first alternating; medians.
# With PERF=1 (and perf installed), the largest client count is also
# profiled (perf record -p, the "with" cluster's processes) for PERF_SECS seconds and the
# share of spinlock waiting (s_lock), LWLock waiting and pg_steward's own
# code is reported.
#
# Usage (as root; pg_steward installed in PG_CONFIG's tree):
#   test/bench/scale/run.sh
# Environment: CLIENTS_LIST="1 2 4 8 16", ROUNDS=3, DURATION=10, ROWS=100000,
# THREADS=2 (pgbench -j, at most the clients), PERF=1, PERF_SECS=5,
# PORT=5498 (and PORT+1), KEEP=0.  Writes results.md next to this script.
set -euo pipefail

CLIENTS_LIST=${CLIENTS_LIST:-1 2 4 8 16}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
ROWS=${ROWS:-100000}
THREADS=${THREADS:-2}
PERF=${PERF:-1}
PERF_SECS=${PERF_SECS:-5}
PORT0=${PORT:-5498}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
BASE=/var/tmp/pg_steward-bench-scale
. "$BENCH/../lib.sh"

VARIANTS=(with without)
SIDE_PORT[with]=$PORT0
SIDE_PORT[without]=$((PORT0 + 1))
for v in "${VARIANTS[@]}"; do SIDE_BIN[$v]=$PGBIN; SIDE_BASE[$v]=$BASE-$v; done
psql_v() { side_psql "$@"; }

for v in "${VARIANTS[@]}"; do
    conf="shared_buffers = 256MB
max_connections = 100
synchronous_commit = off
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off"
    [ "$v" = with ] && conf+=$'\n'"shared_preload_libraries = 'pg_steward'"
    side_start "$v" <<<"$conf"
    if [ "$v" = with ]; then am=steward; psql_v "$v" -d "$DB" -c "CREATE EXTENSION pg_steward"; else am=heap; fi
    psql_v "$v" -d "$DB" -v rows="$ROWS" -v am="$am" >/dev/null <<'EOS'
CREATE TABLE accounts (id bigint PRIMARY KEY, version bigint, status text NOT NULL,
                       balance bigint NOT NULL, note text NOT NULL) USING :am;
INSERT INTO accounts SELECT i, 1, 'open', 0, md5(i::text) FROM generate_series(1, :rows) i;
EOS
    if [ "$v" = with ]; then
        psql_v "$v" -d "$DB" >/dev/null <<'EOS'
SELECT steward.track_versions('accounts', 'version');
SELECT steward.create_state_machine('account', ARRAY['open', 'frozen', 'closed'], ARRAY['open'],
                                    ARRAY['open->frozen', 'frozen->open', 'open->closed']);
SELECT steward.attach_state_machine('accounts', 'status', 'account');
EOS
    fi
    psql_v "$v" -d "$DB" -c "VACUUM (FREEZE, ANALYZE)" >/dev/null
done
VERSION=$(psql_v with -d "$DB" -At -c "SELECT version()")
STEWARD=$(psql_v with -d "$DB" -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'")

cat >"$BASE-with/oltp.sql" <<'EOS'
\set id random(1, :rows)
\set id2 random(1, :rows)
UPDATE accounts SET balance = balance + 1 WHERE id = :id;
SELECT balance, status FROM accounts WHERE id = :id2;
EOS
SCRIPT=$BASE-with/oltp.sql
chmod 644 "$SCRIPT"

# run VARIANT CLIENTS: print the TPS
run() {
    local v=$1 c=$2 j out
    j=$(( c < THREADS ? c : THREADS ))
    out=$("$PGBIN/pgbench" -n -M prepared -h "${SIDE_BASE[$v]}/sock" -p "${SIDE_PORT[$v]}" -U postgres \
              -c "$c" -j "$j" -T "$DURATION" -D rows="$ROWS" -f "$SCRIPT" "$DB" 2>&1) ||
        { echo "$out" >&2; die "pgbench failed ($v, $c clients)"; }
    grep -qE 'number of failed transactions: [1-9]' <<<"$out" && { echo "$out" >&2; die "failed transactions"; }
    sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out"
}

declare -A SAMPLES LOADS
echo "== clients $CLIENTS_LIST: $ROUNDS rounds of ${DURATION}s per variant"
for c in $CLIENTS_LIST; do
    for ((r = 0; r < ROUNDS; r++)); do
        line="clients $c round $((r + 1)):"
        for ((i = 0; i < 2; i++)); do
            v=${VARIANTS[$(((r + i) % 2))]}
            psql_v "$v" -d "$DB" -c "VACUUM accounts" -c "CHECKPOINT" >/dev/null
            tps=$(run "$v" "$c")
            SAMPLES["$c $v"]+="$tps "
            line+=" $v=$tps"
        done
        LOADS[$c]+="$(awk '{print $1}' /proc/loadavg) "
        echo "$line (load $(awk '{print $1}' /proc/loadavg))"
    done
done

# Where the "with" cluster's CPU goes at the largest client count.
PROFILE=
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    cmax=$(tr ' ' '\n' <<<"$CLIENTS_LIST" | grep . | sort -n | tail -n 1)
    pdata=$BASE-with/perf.data
    ( run with "$cmax" >/dev/null ) &
    bg=$!
    sleep 2
    # the cluster's own processes only (the machine runs other clusters)
    pm=$(head -n 1 "${SIDE_BASE[with]}/data/postmaster.pid")
    pids=$(ps -o pid= --ppid "$pm" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
    perf record -g -p "$pm,$pids" -o "$pdata" -- sleep "$PERF_SECS" >/dev/null 2>&1 || true
    wait "$bg" || true
    if [ -s "$pdata" ]; then
        # (greps that match nothing must not end the script)
        rep=$(perf report -i "$pdata" --comm postgres --no-children -g none --sort sym 2>/dev/null | grep -v '^#' || true)
        total_pg() { awk '{gsub("%", "", $1); s += $1} END {printf "%.2f", s}'; }
        share() { { grep -E "$1" <<<"$rep" || true; } | total_pg; }
        dsorep=$(perf report -i "$pdata" --comm postgres --no-children -g none --sort dso,sym 2>/dev/null | grep pg_steward.so || true)
        PROFILE="$cmax clients, ${PERF_SECS}s, the \"with\" cluster's processes (% of their samples): s_lock (spinlock waits) $(share '\] (s_lock|perform_spin_delay)$')%, LWLock acquire/wait (LWLockAcquire, LWLockWaitListLock, LWLockQueueSelf, LWLockDequeueSelf) $(share '\] (LWLockAcquire|LWLockWaitListLock|LWLockQueueSelf|LWLockDequeueSelf)$')%, pg_steward's functions $(total_pg <<<"$dsorep")%; top pg_steward symbols: $(head -n 5 <<<"$dsorep" | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $NF, $1}')"
    fi
fi

TOTAL=$((SECONDS - T_START))
med() { median <<<"${SAMPLES["$1"]}"; }
paired() {
    paste -d' ' <(tr ' ' '\n' <<<"${SAMPLES["$1 with"]}" | grep .) <(tr ' ' '\n' <<<"${SAMPLES["$1 without"]}" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median
}
{
    echo "# pg_steward benchmark: throughput by clients, with and without pg_steward"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $VERSION; pg_steward $STEWARD"
    echo "- CPUs: $(nproc) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); a shared machine: other workers' builds and tests ran meanwhile (load average after each round below). Noise applies: treat ratios as ±10%."
    echo "- clusters side by side, same settings: shared_buffers=256MB, synchronous_commit=off, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; \"with\" preloads pg_steward (defaults: statements, wait sampler, governor, hot rows), \"without\" has no pg_steward"
    echo "- table accounts, $ROWS rows, id bigint PRIMARY KEY; with: USING steward, versions tracked, state machine on status; without: USING heap"
    echo "- workload (oltp.sql, pgbench -M prepared, -j min(clients, $THREADS)): UPDATE accounts SET balance = balance + 1 WHERE id = random; SELECT balance, status FROM accounts WHERE id = random"
    echo "- $ROUNDS rounds of ${DURATION}s per variant and client count, the first variant alternating; VACUUM + CHECKPOINT before each run; time ${TOTAL}s"
    echo
    echo "| clients | with TPS | without TPS | with / without (of medians) | median of per-round ratios | load average (1 min) after each round |"
    echo "|---:|---:|---:|---:|---:|---|"
    for c in $CLIENTS_LIST; do
        echo "| $c | $(med "$c with") | $(med "$c without") | $(ratio "$(med "$c with")" "$(med "$c without")") | $(paired "$c") | ${LOADS[$c]} |"
    done
    echo
    echo "Raw samples (TPS, round order):"
    echo
    for c in $CLIENTS_LIST; do
        for v in "${VARIANTS[@]}"; do echo "- $c clients, $v: ${SAMPLES["$c $v"]}"; done
    done
    if [ -n "$PROFILE" ]; then
        echo
        echo "Profile (perf): $PROFILE"
    fi
} >"$RESULTS.new"
cat "$RESULTS.new"
if [ -f "$RESULTS" ] && grep -q '^## At 64 cores' "$RESULTS"; then
    # keep the written analysis below the measured part
    sed -n '/^## At 64 cores/,$p' "$RESULTS" >>"$RESULTS.new"
fi
mv "$RESULTS.new" "$RESULTS"

#!/usr/bin/env bash
# pg_steward benchmark: the cost of scope claims on begin's hot path.
#
# Two builds side by side in one run, each on its own throwaway cluster
# with the same data (setup.sql, NKEYS completed keys in 100 scopes):
# OLD_BIN (a build before the claims) and NEW_BIN (with them), both also
# running the PL/pgSQL baseline (plain.sql) of their cluster.  Workloads,
# interleaved per round (the order rotates): new.sql (begin + complete of a
# new key, the issue-18 goal: >= 1.3x the PL/pgSQL pattern CPU-bound) on
# all four variants, replay.sql (begin of a random completed key) on the
# two pg_steward builds.  synchronous_commit = off (CPU-bound).
#
# Usage (as root):
#   OLD_BIN=/path/to/old/bin NEW_BIN=/path/to/new/bin test/bench/idempotency/claims.sh
# Then the CPU time the cluster's processes use per transaction (one
# client, NTX transactions per run, CPU_ROUNDS rounds): on a shared, loaded
# machine that moves much less than tps.
# Environment: ROUNDS=4, DURATION=6 (s per pgbench run), NKEYS=200000,
# CLIENTS=2, NTX=5000, CPU_ROUNDS=4, KEEP=0.  Writes results-claims.md next to this script.
set -euo pipefail

OLD_BIN=${OLD_BIN:?OLD_BIN: bindir of the build before the claims}
NEW_BIN=${NEW_BIN:?NEW_BIN: bindir of the build with the claims}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-6}
NKEYS=${NKEYS:-200000}
CLIENTS=${CLIENTS:-2}
NTX=${NTX:-5000}
CPU_ROUNDS=${CPU_ROUNDS:-4}
KEEP=${KEEP:-0}
PORT=0
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-claims
RESULTS=${RESULTS:-$BENCH/results-claims.md}
DB=bench
. "$BENCH/../lib.sh"

SIDE_BIN[old]=$OLD_BIN; SIDE_BASE[old]=$BASE-old; SIDE_PORT[old]=5593
SIDE_BIN[new]=$NEW_BIN; SIDE_BASE[new]=$BASE-new; SIDE_PORT[new]=5594
for n in old new; do
    side_start "$n" <<EOF2
shared_preload_libraries = 'pg_steward'
shared_buffers = 1GB
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off
synchronous_commit = off
steward.idempotency_purge_databases = 'none'
EOF2
    side_psql "$n" -d "$DB" -v nkeys="$NKEYS" -f "$BENCH/setup.sql" >/dev/null
    side_psql "$n" -d "$DB" -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
done

# run CLUSTER VARIANT SCRIPT: tps
run() {
    PGOPTIONS="-c search_path=$2,public" "${SIDE_BIN[$1]}/pgbench" -n -M prepared \
        -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -h "${SIDE_BASE[$1]}/sock" -p "${SIDE_PORT[$1]}" \
        -U postgres -D nkeys="$NKEYS" -f "$BENCH/$3" "$DB" 2>&1 | awk '/^tps/ {print $3}'
}

# cluster_ticks CLUSTER: CPU clock ticks its processes used so far (the
# postmaster with its reaped children, and the live ones)
cluster_ticks() {
    local pm
    pm=$(head -n 1 "${SIDE_BASE[$1]}/data/postmaster.pid")
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '
        { pid = $1; sub(/^.*\) /, ""); split($0, a, " ");
          if (pid == pm) t += a[12] + a[13] + a[14] + a[15];
          else if (a[2] == pm) t += a[12] + a[13] }
        END { print t + 0 }'
}
# cpu_run CLUSTER VARIANT SCRIPT: CPU ms of the cluster per transaction,
# over NTX transactions of one client (less sensitive to other load than tps)
cpu_run() {
    local t0 t1
    t0=$(cluster_ticks "$1")
    PGOPTIONS="-c search_path=$2,public" "${SIDE_BIN[$1]}/pgbench" -n -M prepared -c 1 -t "$NTX" \
        -h "${SIDE_BASE[$1]}/sock" -p "${SIDE_PORT[$1]}" -U postgres -D nkeys="$NKEYS" \
        -f "$BENCH/$3" "$DB" >/dev/null 2>&1
    sleep 0.3
    t1=$(cluster_ticks "$1")
    awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$NTX" 'BEGIN {printf "%.4f", d * 1000 / hz / n}'
}

VARIANTS=("old steward new.sql" "new steward new.sql" "old plain new.sql" "new plain new.sql"
          "old steward replay.sql" "new steward replay.sql")
declare -A S
for v in "${VARIANTS[@]}"; do run $v >/dev/null; done   # warm-up, not counted
for r in $(seq 1 "$ROUNDS"); do
    n=${#VARIANTS[@]}
    for i in $(seq 0 $((n - 1))); do
        v=${VARIANTS[$(( (i + r) % n ))]}
        t=$(run $v)
        S["$v"]+="$t "
        echo "round $r: $v $t"
    done
done

declare -A C
for r in $(seq 1 "$CPU_ROUNDS"); do
    n=${#VARIANTS[@]}
    for i in $(seq 0 $((n - 1))); do
        v=${VARIANTS[$(( (i + r) % n ))]}
        t=$(cpu_run $v)
        C["$v"]+="$t "
        echo "cpu round $r: $v $t ms"
    done
done

med() { echo "${S[$1]}" | median; }
cmed() { echo "${C[$1]}" | median; }
o_new=$(med "old steward new.sql"); n_new=$(med "new steward new.sql")
o_pl=$(med "old plain new.sql"); n_pl=$(med "new plain new.sql")
o_rep=$(med "old steward replay.sql"); n_rep=$(med "new steward replay.sql")
{
    echo "# pg_steward benchmark: claims of idempotency scopes on begin's hot path"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPUs: $(nproc), shared with other sessions' builds and tests"
    echo "- builds: old = before the claims ($OLD_BIN), new = with them ($NEW_BIN); one cluster each, run side by side"
    echo "- settings: shared_buffers 1GB, synchronous_commit off, autovacuum off, purge worker off; data: setup.sql with $NKEYS completed keys in 100 scopes (created first; keys with their scope's claim on the new build)"
    echo "- pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION; one warm-up run per variant; $ROUNDS rounds, order rotating; medians of tps"
    echo
    echo "| workload | old build | new build | new / old |"
    echo "|---|---|---|---|"
    echo "| (a) begin + complete of a new key, pg_steward | $(fmt "$o_new") | $(fmt "$n_new") | $(ratio "$n_new" "$o_new") |"
    echo "| (a) the same, PL/pgSQL baseline (same cluster) | $(fmt "$o_pl") | $(fmt "$n_pl") | $(ratio "$n_pl" "$o_pl") |"
    echo "| (a) pg_steward / PL/pgSQL | $(ratio "$o_new" "$o_pl") | $(ratio "$n_new" "$n_pl") | |"
    echo "| (b) replay of a completed key, pg_steward | $(fmt "$o_rep") | $(fmt "$n_rep") | $(ratio "$n_rep" "$o_rep") |"
    echo
    echo "CPU time of the cluster's processes per transaction (ms; pgbench -c 1 -t $NTX, $CPU_ROUNDS rounds, order rotating, medians; lower is better):"
    echo
    echo "| workload | old build | new build | new / old |"
    echo "|---|---|---|---|"
    for w in "steward new.sql" "plain new.sql" "steward replay.sql"; do
        echo "| $w | $(cmed "old $w") | $(cmed "new $w") | $(ratio "$(cmed "new $w")" "$(cmed "old $w")") |"
    done
    echo "| (a) PL/pgSQL / pg_steward CPU per request | $(ratio "$(cmed "old plain new.sql")" "$(cmed "old steward new.sql")") | $(ratio "$(cmed "new plain new.sql")" "$(cmed "new steward new.sql")") | |"
    echo
    echo "CPU samples (ms per transaction):"
    echo
    for v in "${VARIANTS[@]}"; do echo "- $v: ${C[$v]}"; done
    echo
    echo "Samples (tps):"
    echo
    for v in "${VARIANTS[@]}"; do echo "- $v: ${S[$v]}"; done
} >"$RESULTS"
cat "$RESULTS"

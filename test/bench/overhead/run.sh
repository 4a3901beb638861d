#!/usr/bin/env bash
# Overhead of pg_steward's observability (statement percentiles, wait
# sampler, hot rows) on plain pgbench: two throwaway clusters side by side,
# one with shared_preload_libraries = 'pg_steward' (everything on), one
# without; pgbench -S and tpcb-like runs alternate between them in rounds,
# and the medians' ratio is reported.  Run as root.
#
#   ROUNDS=5 DURATION=15 SCALE=10 bash test/bench/overhead/run.sh
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-15}
SCALE=${SCALE:-10}
BIN=/usr/lib/postgresql/15/bin
# A fresh directory (mktemp: nobody else can have prepared it), given to
# postgres with mode 0700: the clusters' sockets in it (trust
# authentication) are reachable by postgres and root only.
BASE=$(mktemp -d /var/tmp/pg_steward-bench-overhead.XXXXXX)
chown postgres "$BASE"
chmod 700 "$BASE"
# as_pg COMMAND [ARG...]: as postgres, in $BASE, arguments as a vector.
as_pg() { su postgres -s /bin/bash -c 'cd -- "$1" && shift && exec "$@"' -- as_pg "$BASE" "$@"; }

cleanup() {
    for c in on off; do
        [ -f "$BASE/$c/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$BASE/$c" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf -- "$BASE"
}
trap cleanup EXIT

declare -A PORT=([on]=5494 [off]=5495)
for c in on off; do
    as_pg "$BIN/initdb" -D "$BASE/$c" -A trust --no-locale -E UTF8 >/dev/null
    {
        cat <<CONF
port = ${PORT[$c]}
unix_socket_directories = '$BASE'
listen_addresses = ''
shared_buffers = 256MB
max_wal_size = 10GB
checkpoint_timeout = 1h
autovacuum = off
CONF
        [ "$c" = off ] || echo "shared_preload_libraries = 'pg_steward'"
    } | as_pg tee -a "$BASE/$c/postgresql.conf" >/dev/null
    as_pg "$BIN/pg_ctl" -D "$BASE/$c" -l "$BASE/$c.log" -w start >/dev/null
    as_pg "$BIN/psql" -X -q -h "$BASE" -p "${PORT[$c]}" -d postgres -c 'CREATE EXTENSION pg_steward'
    as_pg "$BIN/pgbench" -q -i -s "$SCALE" -h "$BASE" -p "${PORT[$c]}" postgres >/dev/null 2>&1
done

run() {    # run CLUSTER MODE -> TPS
    local c=$1 mode=$2 flags=()
    [ "$mode" != select ] || flags=(-S)
    as_pg "$BIN/psql" -X -q -h "$BASE" -p "${PORT[$c]}" -d postgres -c 'VACUUM' -c 'CHECKPOINT'
    as_pg "$BIN/pgbench" -n "${flags[@]}" -M prepared -c 2 -j 2 -T "$DURATION" -h "$BASE" -p "${PORT[$c]}" postgres 2>/dev/null \
        | sed -nE 's/^tps = ([0-9.]+) .*/\1/p'
}

declare -A S
for r in $(seq 1 "$ROUNDS"); do
    for mode in select tpcb; do
        order="on off"; [ $((r % 2)) -eq 0 ] && order="off on"
        for c in $order; do
            S[$mode,$c]="${S[$mode,$c]:-} $(run $c $mode)"
        done
    done
    echo "round $r done"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
{
    echo "# pg_steward overhead: preloaded (everything on) vs not preloaded"
    echo
    echo "- date: $(date -u '+%F %H:%M') UTC; $(nproc) CPUs; pgbench scale $SCALE, -M prepared -c 2 -j 2 -T $DURATION, $ROUNDS rounds, order alternating"
    echo "- on: shared_preload_libraries = 'pg_steward' (statement percentiles, wait sampler every 10 ms, counters); off: extension installed, library not preloaded"
    echo
    echo "| workload | on (median TPS) | off (median TPS) | on/off |"
    echo "|---|---:|---:|---:|"
    for mode in select tpcb; do
        on=$(echo "${S[$mode,on]}" | median); off=$(echo "${S[$mode,off]}" | median)
        echo "| pgbench $([ $mode = select ] && echo -S || echo tpcb-like) | $on | $off | $(awk -v a="$on" -v b="$off" 'BEGIN{printf "%.3f", a/b}') |"
    done
    echo
    echo "Raw TPS: $(for k in "${!S[@]}"; do echo -n "$k:${S[$k]}; "; done)"
    echo
    echo "Memory: a statement entry is about 5.5 kB of shared memory (4.4 kB of it the latency histogram; steward.max_statements = 1000 -> about 5.5 MB); the sampler keeps 8 bytes per process slot plus its bounded tables."
} | tee results.md

#!/usr/bin/env bash
# Two builds of pg_steward side by side on the same workload: A and B are
# DESTDIR roots of an install (as test/htest makes them: their binaries
# find their own pg_steward.so).  Each build gets one cluster per variant
# (a postgresql.conf line, e.g. "steward.max_statements = 100"); SETUP
# (SQL, run once per cluster) prepares them; each pgbench script of
# SCRIPTS runs -M prepared -c 2 -j 2 for DURATION seconds on every
# cluster, in rounds whose order alternates.  Prints a table of median
# statements per second (transactions per second times STATEMENTS, the
# statements of one script run) and appends it to OUT.  Throughput on a
# shared machine moves with the others' load: with CPU_SCRIPT (a psql
# script whose last line of output is the CPU microseconds its backend
# spent per statement, read from /proc/self/stat), each run also measures
# that, which waiting for a CPU does not change.  Run as root; used by
# seen_cache.sh and read_latest.sh.
#
#   A=/var/tmp/pg-old B=/var/tmp/pg-new SETUP=setup.sql SCRIPTS="s.sql" \
#     VARIANTS="base|steward.max_statements = 1000" STATEMENTS=1 bash ab.sh
set -euo pipefail

A=${A:?A: the DESTDIR root of build A}
B=${B:?B: the DESTDIR root of build B}
SETUP=${SETUP:?SETUP: an SQL file}
SCRIPTS=${SCRIPTS:?SCRIPTS: pgbench script files}
VARIANTS=${VARIANTS:-"default|"}
STATEMENTS=${STATEMENTS:-1}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
OUT=${OUT:-/dev/null}
BASE=$(mktemp -d /var/tmp/pg_steward-bench-ab.XXXXXX)
chown postgres "$BASE"
chmod 700 "$BASE"
as_pg() { su postgres -s /bin/bash -c 'cd -- "$1" && shift && exec "$@"' -- as_pg "$BASE" "$@"; }

IFS=';' read -r -a VARS <<< "$VARIANTS"
CLUSTERS=()
declare -A PORT BIN CONF
port=5581
for build in A B; do
    for i in "${!VARS[@]}"; do
        c=$build$i
        CLUSTERS+=("$c")
        PORT[$c]=$port; port=$((port + 1))
        BIN[$c]=${!build}/usr/lib/postgresql/15/bin
        CONF[$c]=${VARS[$i]#*|}
    done
done

cleanup() {
    for c in "${CLUSTERS[@]}"; do
        [ -f "$BASE/$c/postmaster.pid" ] && as_pg "${BIN[$c]}/pg_ctl" -D "$BASE/$c" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf -- "$BASE"
}
trap cleanup EXIT

cp "$SETUP" "$BASE/setup.sql"
[ -z "${CPU_SCRIPT:-}" ] || cp "$CPU_SCRIPT" "$BASE/cpu.sql"
for s in $SCRIPTS; do cp "$s" "$BASE/$(basename "$s")"; done
chown postgres "$BASE"/*.sql

for c in "${CLUSTERS[@]}"; do
    as_pg "${BIN[$c]}/initdb" -D "$BASE/$c" -A trust --no-locale -E UTF8 >/dev/null
    cat <<CONF | as_pg tee -a "$BASE/$c/postgresql.conf" >/dev/null
port = ${PORT[$c]}
unix_socket_directories = '$BASE'
listen_addresses = ''
shared_buffers = 128MB
autovacuum = off
shared_preload_libraries = 'pg_steward'
${CONF[$c]}
CONF
    as_pg "${BIN[$c]}/pg_ctl" -D "$BASE/$c" -l "$BASE/$c.log" -w start >/dev/null
    as_pg "${BIN[$c]}/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE" -p "${PORT[$c]}" -d postgres \
        -c 'CREATE EXTENSION pg_steward' -f "$BASE/setup.sql" >/dev/null
    as_pg "${BIN[$c]}/pg_ctl" -D "$BASE/$c" -m fast -w stop >/dev/null
done

run() {    # run CLUSTER SCRIPT -> statements per second
    local c=$1 s=$2 tps
    as_pg "${BIN[$c]}/pg_ctl" -D "$BASE/$c" -l "$BASE/$c.log" -w start >/dev/null
    if [ -n "${CPU_SCRIPT:-}" ] && [ "$s" = "$(basename "${SCRIPTS%% *}")" ]; then
        echo "$c $(as_pg "${BIN[$c]}/psql" -X -Atq -h "$BASE" -p "${PORT[$c]}" -d postgres \
            -f "$BASE/cpu.sql" | tail -1)" >> "$BASE/cpu.txt"
    fi
    tps=$(as_pg "${BIN[$c]}/pgbench" -n -M prepared -c 2 -j 2 -T "$DURATION" -f "$BASE/$s" \
          -h "$BASE" -p "${PORT[$c]}" postgres 2>/dev/null | sed -nE 's/^tps = ([0-9.]+) .*/\1/p')
    as_pg "${BIN[$c]}/psql" -X -Atq -h "$BASE" -p "${PORT[$c]}" -d postgres \
        -c "SELECT '$c $s evictions ' || evictions FROM steward.collector WHERE structure = 'statements'" \
        >> "$BASE/evictions.txt"
    as_pg "${BIN[$c]}/pg_ctl" -D "$BASE/$c" -m fast -w stop >/dev/null
    awk -v t="$tps" -v n="$STATEMENTS" 'BEGIN{printf "%.0f", t * n}'
}

declare -A S
for r in $(seq 1 "$ROUNDS"); do
    order=("${CLUSTERS[@]}")
    [ $((r % 2)) -eq 0 ] && order=($(printf '%s\n' "${CLUSTERS[@]}" | tac))
    for c in "${order[@]}"; do
        for s in $SCRIPTS; do
            s=$(basename "$s")
            S[$c,$s]="${S[$c,$s]:-} $(run "$c" "$s")"
        done
    done
    echo "round $r done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# row LABELS A-VALUES B-VALUES: a table row of both medians and their ratio.
row() {
    local a b
    a=$(echo "$2" | median); b=$(echo "$3" | median)
    echo "| $1 | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", b/a}') |"
}
{
    echo "- date: $(date -u '+%F %H:%M') UTC; $(nproc) CPUs, load average at the end $(cut -d" " -f1-3 /proc/loadavg); pgbench -M prepared -c 2 -j 2 -T $DURATION, $ROUNDS rounds, order alternating"
    echo "- A = ${A_NAME:-$A}; B = ${B_NAME:-$B}"
    echo
    echo "| variant | script | A (median statements/s) | B (median statements/s) | B/A |"
    echo "|---|---|---:|---:|---:|"
    for i in "${!VARS[@]}"; do
        for s in $SCRIPTS; do
            s=$(basename "$s")
            row "${VARS[$i]%%|*} | $s" "${S[A$i,$s]}" "${S[B$i,$s]}"
        done
    done
    if [ -n "${CPU_SCRIPT:-}" ]; then
        declare -A CPU
        while read -r c v; do CPU[$c]="${CPU[$c]:-} $v"; done < "$BASE/cpu.txt"
        echo
        echo "| variant | A (median CPU µs per statement, one backend) | B | B/A |"
        echo "|---|---:|---:|---:|"
        for i in "${!VARS[@]}"; do row "${VARS[$i]%%|*}" "${CPU[A$i]}" "${CPU[B$i]}"; done
        echo
        echo "Raw CPU µs per statement: $(for k in "${!CPU[@]}"; do echo -n "$k:${CPU[$k]}; "; done)"
    fi
    echo
    echo "Raw statements/s: $(for k in "${!S[@]}"; do echo -n "$k:${S[$k]}; "; done)"
    echo
    echo "Statement evictions after each run (steward.collector): $(cut -d' ' -f1,2,4 "$BASE/evictions.txt" | sort | uniq -c | awk '{printf "%s %s: %s", $2, $3, $4; if ($1 > 1) printf " (x%d)", $1; printf "; "}')"
} | tee -a "$OUT"

#!/usr/bin/env bash
# pg_steward benchmark: what the scope lock (review11 R11-7) costs a begin.
#
# Two builds of pg_steward side by side, each in its own throwaway cluster
# with identical data and settings: OLD_BIN (the library before the scope
# lock) and NEW_BIN (with it).  Workloads, from this directory:
#   (a) new.sql      begin + complete of a new key, one transaction, 100 scopes
#   (h) new_hot.sql  the same, every client in one scope (all begins share
#                    one lock-table entry: the contention case)
#   (b) replay.sql   begin of an existing completed key
#   (p) a procedure looping over begin + complete + COMMIT (100 scopes, 1):
#       the backend's own CPU per iteration (no client, protocol, parse)
# synchronous_commit = off, so that the commit flush does not hide the CPU
# cost of the functions.  Rounds interleave the builds (first build
# alternating); medians of the CPU time per transaction and of TPS, and
# the ratios new / old per workload.
#
# (r), replays alone in the same loop, was run by hand (results-scope-lock.md).
#
# Usage (as root): OLD_BIN=/path/bin NEW_BIN=/path/bin test/bench/idempotency/scope_lock.sh
# Environment: ROUNDS=6, DURATION=8, NKEYS=200000, NLOOP=50000, CLIENTS=2, PORT=5493
# (old) and PORT+1 (new), KEEP=0.  Writes results-scope-lock.md here.
set -euo pipefail

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-8}
NKEYS=${NKEYS:-200000}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5493}
KEEP=${KEEP:-0}
: "${OLD_BIN:?OLD_BIN: bindir of the build without the scope lock}"
: "${NEW_BIN:?NEW_BIN: bindir of the build with it}"

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-scope-lock
RESULTS=${RESULTS:-$BENCH/results-scope-lock.md}
DB=bench
PGBIN=$NEW_BIN
. "$BENCH/../lib.sh"

SIDE_BIN[old]=$OLD_BIN; SIDE_BASE[old]=$BASE-old; SIDE_PORT[old]=$PORT
SIDE_BIN[new]=$NEW_BIN; SIDE_BASE[new]=$BASE-new; SIDE_PORT[new]=$((PORT + 1))
SETTINGS="shared_preload_libraries = 'pg_steward'
shared_buffers = 256MB
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off
synchronous_commit = off
steward.idempotency_purge_databases = 'none'"

for n in old new; do
    echo "== $n: initdb, $NKEYS keys"
    side_start "$n" <<<"$SETTINGS"
    side_psql "$n" -d "$DB" -v nkeys="$NKEYS" -f "$BENCH/setup.sql" >/dev/null
    side_psql "$n" -d "$DB" -c "VACUUM ANALYZE steward.idempotency_keys" -c CHECKPOINT
done

# cpu_ticks NAME: CPU ticks (1/100 s) used so far by the cluster's
# processes: its live children, and the ones that exited (reaped: the
# postmaster's cutime + cstime), so the backends pgbench used count whole
cpu_ticks() {
    local pm
    pm=$(head -n 1 "${SIDE_BASE[$1]}/data/postmaster.pid")
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '
        { pid = $1; sub(/^.*\) /, ""); split($0, a, " ");
          if (pid == pm) t += a[14] + a[15]; else if (a[2] == pm) t += a[12] + a[13] }
        END { print t + 0 }'
}

# run NAME SCRIPT: "tps cpu_us_per_transaction" of one pgbench run
run() {
    local n=$1 script=$2 out c0 c1
    side_psql "$n" -d "$DB" -c "VACUUM steward.idempotency_keys" >/dev/null
    c0=$(cpu_ticks "$n")
    out=$(PGOPTIONS="-c search_path=steward,public" "${SIDE_BIN[$n]}/pgbench" -n -M prepared \
          -h "${SIDE_BASE[$n]}/sock" -p "${SIDE_PORT[$n]}" -U postgres \
          -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -D nkeys="$NKEYS" \
          -f "$BENCH/$script" "$DB" 2>&1) || { echo "$out" >&2; die "pgbench $script failed on $n"; }
    c1=$(cpu_ticks "$n")
    echo "$out" | awk -v c="$((c1 - c0))" '
        /^tps = / {tps = $3} /actually processed/ {n = $NF}
        END {printf "%.1f %.1f\n", tps, (n > 0 ? c * 10000 / n : 0)}'
}

declare -A TPS CPU
for n in old new; do run "$n" new.sql >/dev/null; done   # warm-up, not counted
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="old new"; else order="new old"; fi
    for w in new.sql new_hot.sql replay.sql; do
        for n in $order; do
            res=$(run "$n" "$w"); t=${res% *}; c=${res#* }
            TPS["$w $n"]="${TPS["$w $n"]:-} $t"
            CPU["$w $n"]="${CPU["$w $n"]:-} $c"
            echo "round $r $w $n: $t tps, $c us CPU per transaction"
        done
    done
done

# (p) the backend alone: a procedure runs begin + complete + COMMIT of a
# new key NLOOP times (100 scopes, then 1); the backend's own CPU time
# (/proc/<pid>/stat, read by the backend) per iteration.  No client, no
# protocol, no parse: the lock's share of what the functions cost.
for n in old new; do
    side_psql "$n" -d "$DB" <<'SQL'
CREATE PROCEDURE public.scope_lock_loop(n int, tag text, nscopes int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM steward.idempotency_begin('acct-' || (i % nscopes), tag || i, 'fp');
    PERFORM steward.idempotency_complete('acct-' || (i % nscopes), tag || i, 201, '{"id": 1}');
    COMMIT;
  END LOOP;
END $$;
CREATE FUNCTION public.backend_cpu_ticks() RETURNS bigint LANGUAGE sql AS $$
  SELECT split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint
    FROM regexp_replace(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), '^.*\) ', '') s $$;
SQL
done
NLOOP=${NLOOP:-50000}
declare -A LOOP
for ((r = 1; r <= ROUNDS; r++)); do
    for n in old new; do
        for ns in 100 1; do
            ticks=$(side_psql "$n" -d "$DB" -At -c "SELECT backend_cpu_ticks()" \
                        -c "CALL scope_lock_loop($NLOOP, 'p$r-$ns-', $ns)" -c "SELECT backend_cpu_ticks()" | tr '\n' ' ')
            us=$(echo "$ticks" | awk -v n="$NLOOP" '{printf "%.1f", ($2 - $1) * 10000 / n}')
            LOOP["$ns $n"]="${LOOP["$ns $n"]:-} $us"
            echo "round $r loop scopes=$ns $n: $us us CPU per begin + complete + commit"
            side_psql "$n" -d "$DB" -c "DELETE FROM steward.idempotency_keys WHERE key LIKE 'p%'" -c "VACUUM steward.idempotency_keys" >/dev/null
        done
    done
done

{
    echo "# pg_steward benchmark: cost of the scope lock (review11 R11-7)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPUs: $(nproc), shared and noisy"
    echo "- builds: old = before the scope lock, new = with it (begin takes a ShareLock on the scope's advisory tag until the transaction ends)"
    echo "- settings: $(echo "$SETTINGS" | tr '\n' ';' | sed 's/;$//; s/;/, /g'); data: $NKEYS completed keys in 100 scopes (setup.sql)"
    echo "- pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION; $ROUNDS rounds, builds interleaved (first alternating), VACUUM of the keys before every run; medians"
    echo
    echo "CPU per transaction = CPU time of the cluster's processes (the postmaster's children, /proc) during the run / transactions: less sensitive than TPS to what else runs on the machine (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)."
    echo
    echo "| workload | CPU us/tx old | CPU us/tx new | new / old | TPS old | TPS new | new / old | per-round CPU us/tx old | per-round new |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
    for w in new.sql new_hot.sql replay.sql; do
        o=$(echo "${TPS["$w old"]}" | median); nn=$(echo "${TPS["$w new"]}" | median)
        co=$(echo "${CPU["$w old"]}" | median); cn=$(echo "${CPU["$w new"]}" | median)
        echo "| $w | $(fmt "$co") | $(fmt "$cn") | $(ratio "$cn" "$co") | $(fmt "$o") | $(fmt "$nn") | $(ratio "$nn" "$o") |${CPU["$w old"]} |${CPU["$w new"]} |"
    done
    echo
    echo "(p) backend CPU per iteration of a procedure loop (begin + complete + COMMIT of a new key, $NLOOP iterations per run, the backend's own utime + stime): no client, protocol or parse, so the lock's share of the functions' own cost."
    echo
    echo "| loop | CPU us/iteration old | new | new / old | per-round old | per-round new |"
    echo "|---|---:|---:|---:|---|---|"
    for ns in 100 1; do
        co=$(echo "${LOOP["$ns old"]}" | median); cn=$(echo "${LOOP["$ns new"]}" | median)
        echo "| $ns scope(s) | $co | $cn | $(ratio "$cn" "$co") |${LOOP["$ns old"]} |${LOOP["$ns new"]} |"
    done
} >"$RESULTS"
cat "$RESULTS"

#!/usr/bin/env bash
# pg_steward benchmark: what the extension's event triggers add to DDL
# (not part of CI).
#
# One cluster with pg_steward preloaded, two databases: "plain" without
# the extension, "bench" with it.  In each, one backend runs N times a
# pair of statements (CREATE TABLE + DROP TABLE, CREATE TEMP TABLE + DROP
# TABLE, ALTER TABLE ADD + DROP COLUMN, CREATE + DROP INDEX) from a DO
# block; measured is that backend's CPU time per pair (nanoseconds on a CPU from
# /proc/self/schedstat, which waiting for a CPU on a shared machine does
# not change).  A third side, "bench" with every steward event trigger
# disabled, shows what is left (the library's hooks, which "plain" has
# too).  ROUNDS rounds, the sides alternating; then one run with
# track_functions = all names the event-trigger functions by time.
#
# Usage (as root, the extension installed into the PostgreSQL that
# pg_config names):  bash test/bench/ddl/run.sh
# Environment: N=300 (at most 1500), ROUNDS=3, PORT=5496, KEEP=0, BASE= (the cluster's
# directory, default /var/tmp/pg_steward-bench-ddl: two builds side by side
# need two), RESULTS= (default:
# results.md next to this script).
set -euo pipefail

N=${N:-300}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-5496}
KEEP=${KEEP:-0}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:-/var/tmp/pg_steward-bench-ddl}
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
. "$BENCH/../lib.sh"

(( N <= 1500 )) || die "N=$N: the column pair adds N columns to one table (at most 1600)"
bench_start_cluster ddl
psql_q -d "$DB" -c "CREATE EXTENSION pg_steward" >/dev/null
"$PGBIN/createdb" plain
# Each run of the column and index pairs starts from a fresh "base": a
# dropped column keeps its attribute number, so N column pairs use N of
# the table's 1600 (and every later statement on it reads them all).
NEW_BASE="SET client_min_messages = warning; DROP TABLE IF EXISTS base; CREATE TABLE base (id int PRIMARY KEY, a text, b int)"
for d in "$DB" plain; do
    psql_q -d "$d" -c "$NEW_BASE" >/dev/null
done

declare -A PAIR=(
    [table]="CREATE TABLE ddl_t (id int PRIMARY KEY, a text, b int); DROP TABLE ddl_t"
    [temp]="CREATE TEMP TABLE ddl_tt (id int PRIMARY KEY, a text); DROP TABLE ddl_tt"
    [column]="ALTER TABLE base ADD COLUMN c int; ALTER TABLE base DROP COLUMN c"
    [index]="CREATE INDEX base_b ON base (b); DROP INDEX base_b"
)
KINDS="table temp column index"
# nanoseconds on a CPU (the scheduler's sum, not utime + stime in 10 ms ticks)
cpu="(SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint)"

set_triggers() {   # set_triggers ENABLE|DISABLE (in $DB)
    psql_q -d "$DB" -c "DO \$\$DECLARE n name; BEGIN
        FOR n IN SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'steward%' LOOP
            EXECUTE format('ALTER EVENT TRIGGER %I $1', n);
        END LOOP; END\$\$" >/dev/null
}
# one DATABASE KIND: milliseconds of backend CPU per statement pair
one() {
    local sql=${PAIR[$2]}
    case $2 in column|index) psql_q -d "$1" -c "$NEW_BASE" >/dev/null ;; esac
    psql_q -d "$1" -At -c "CREATE TEMP TABLE t0 AS SELECT $cpu AS cpu" \
        -c "DO \$\$BEGIN FOR i IN 1..$N LOOP EXECUTE \$q\$${sql%%;*}\$q\$; EXECUTE \$q\$${sql#*; }\$q\$; END LOOP; END\$\$" \
        -c "SELECT round(($cpu - cpu) / 1e6 / $N, 3) FROM t0"
}

declare -A S
for ((r = 1; r <= ROUNDS; r++)); do
    for side in plain steward off; do
        case $side in
            plain) d=plain ;;
            steward) d=$DB; set_triggers ENABLE ;;
            off) d=$DB; set_triggers DISABLE ;;
        esac
        for k in $KINDS; do
            v=$(one "$d" "$k")
            S[$side,$k]="${S[$side,$k]:-} $v"
            echo "round $r $side $k: $v ms"
        done
    done
done
set_triggers ENABLE

# which event-trigger functions take the time (one run of every pair)
psql_q -d "$DB" -c "SELECT pg_stat_reset()" >/dev/null
{
    echo "SET track_functions = 'all';"
    for k in $KINDS; do
        sql=${PAIR[$k]}
        case $k in column|index) echo "$NEW_BASE;" ;; esac
        echo "DO \$\$BEGIN FOR i IN 1..$N LOOP EXECUTE \$q\$${sql%%;*}\$q\$; EXECUTE \$q\$${sql#*; }\$q\$; END LOOP; END\$\$;"
    done
} | psql_q -d "$DB" >/dev/null
sleep 1
BY_FUNCTION=$(psql_q -d "$DB" -At -F ' | ' -c "SELECT funcname, calls, round((self_time / calls * 1000)::numeric, 1)
    FROM pg_stat_user_functions WHERE schemaname = 'steward' ORDER BY self_time DESC LIMIT 8")

{
    echo "# DDL with pg_steward's event triggers ($(date -u '+%Y-%m-%d %H:%M') UTC, $(git -C "$BENCH" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "Backend CPU per statement pair, milliseconds: median of $ROUNDS rounds of $N pairs"
    echo "(samples in brackets). plain: a database without the extension (the library is"
    echo "preloaded); steward: with it; off: with it, every steward event trigger disabled."
    echo
    echo "| pair | plain | steward | off | steward / plain |"
    echo "|---|---|---|---|---|"
    for k in $KINDS; do
        p=$(echo "${S[plain,$k]}" | median); s=$(echo "${S[steward,$k]}" | median); o=$(echo "${S[off,$k]}" | median)
        echo "| ${PAIR[$k]} | $p [${S[plain,$k]# }] | $s [${S[steward,$k]# }] | $o [${S[off,$k]# }] | $(ratio "$s" "$p") |"
    done
    echo
    echo "Event-trigger functions by time (one run of every pair, track_functions = all):"
    echo
    echo "| function | calls | µs per call |"
    echo "|---|---|---|"
    echo "$BY_FUNCTION" | sed 's/^/| /; s/$/ |/'
} > "$RESULTS"
cat "$RESULTS"

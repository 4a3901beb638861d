#!/usr/bin/env bash
# The statement tracker's per-start lookups (codereview2 #7): a prepared
# statement's execution starts without a parse, and the tracker looks its
# entry up in shared memory (shared LWLock + hash probe, and the text
# normalized when the entry is gone) unless the backend's cache of the
# statements it counted says the entry exists and none was removed since.
# Builds A and B side by side (ab.sh), each with steward.max_statements =
# 1000 (no eviction) and 100 (continuous eviction): pgbench -M prepared
# runs one script of NSTMT distinct statements (SELECT v FROM tK WHERE
# id = :id, one table each), and one backend's CPU per statement is
# measured on the same statements, prepared (EXECUTE, REPEAT times each).
# Run as root:
#
#   A=/var/tmp/pg-old B=/var/tmp/pg-new bash test/bench/overhead/seen_cache.sh
set -euo pipefail
cd "$(dirname "$0")"
NSTMT=${NSTMT:-200}
REPEAT=${REPEAT:-100}
dir=$(mktemp -d)
trap 'rm -rf -- "$dir"' EXIT
for k in $(seq 1 "$NSTMT"); do
    echo "CREATE TABLE t$k (id int PRIMARY KEY, v int);"
    echo "INSERT INTO t$k SELECT g, g FROM generate_series(1, 10) g;"
done > "$dir/setup.sql"
{
    echo '\set id random(1, 10)'
    for k in $(seq 1 "$NSTMT"); do echo "SELECT v FROM t$k WHERE id = :id;"; done
} > "$dir/script.sql"
# CPU (utime + stime, clock ticks of 10 ms) of this backend, fields 14-15.
cpu="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_read_file('/proc/self/stat') s)"
{
    for k in $(seq 1 "$NSTMT"); do echo "PREPARE s$k AS SELECT v FROM t$k WHERE id = \$1;"; done
    echo "CREATE TEMP TABLE cpu0 AS SELECT $cpu AS t;"
    echo '\o /dev/null'
    for r in $(seq 1 "$REPEAT"); do
        for k in $(seq 1 "$NSTMT"); do echo "EXECUTE s$k($((r % 10 + 1)));"; done
    done
    echo '\o'
    echo "SELECT round(($cpu - t) * 10000.0 / ($NSTMT * $REPEAT), 2) FROM cpu0;"
} > "$dir/cpu.sql"
chmod 755 "$dir"; chmod 644 "$dir"/*.sql
SETUP=$dir/setup.sql SCRIPTS="$dir/script.sql" CPU_SCRIPT=$dir/cpu.sql STATEMENTS=$NSTMT \
    VARIANTS="steward.max_statements = 1000|steward.max_statements = 1000;steward.max_statements = 100|steward.max_statements = 100" \
    OUT=${OUT:-results-seen-cache.md} bash ab.sh

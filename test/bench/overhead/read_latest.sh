#!/usr/bin/env bash
# The per-statement cost of the relayout trigger's catalog read
# (steward_spi_read_latest, codereview2 #6): single-row INSERTs into a
# table under a relayout migration (its trigger looks the other layout up
# once per statement, in a snapshot taken now), and into a plain table
# for reference, on builds A and B (ab.sh); and one backend's CPU per
# INSERT into the relayout table (EXECUTE of a prepared INSERT, N times).
# Run as root:
#
#   A=/var/tmp/pg-old B=/var/tmp/pg-new bash test/bench/overhead/read_latest.sh
set -euo pipefail
cd "$(dirname "$0")"
dir=$(mktemp -d)
trap 'rm -rf -- "$dir"' EXIT
cat > "$dir/setup.sql" <<'SQL'
CREATE TABLE orders (order_id bigserial, user_id int NOT NULL, amount int, PRIMARY KEY (order_id, user_id));
CREATE TABLE plain (order_id bigserial, user_id int NOT NULL, amount int, PRIMARY KEY (order_id, user_id));
SELECT steward.migration_start('orders_by_user', $$[
  {"relayout": {"table": "orders", "partition_by": "HASH (user_id)", "partitions": 8}}]$$);
SQL
printf '%s\n' '\set u random(1, 1000)' 'INSERT INTO orders (user_id, amount) VALUES (:u, 1);' > "$dir/relayout.sql"
printf '%s\n' '\set u random(1, 1000)' 'INSERT INTO plain (user_id, amount) VALUES (:u, 1);' > "$dir/plain.sql"
N=${N:-5000}
cpu="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_read_file('/proc/self/stat') s)"
{
    echo 'PREPARE ins AS INSERT INTO orders (user_id, amount) VALUES ($1, 1);'
    echo "CREATE TEMP TABLE cpu0 AS SELECT $cpu AS t;"
    for i in $(seq 1 "$N"); do echo "EXECUTE ins($((i % 1000)));"; done
    echo "SELECT round(($cpu - t) * 10000.0 / $N, 2) FROM cpu0;"
} > "$dir/cpu.sql"
chmod 755 "$dir"; chmod 644 "$dir"/*.sql
SETUP=$dir/setup.sql SCRIPTS="$dir/relayout.sql $dir/plain.sql" CPU_SCRIPT=$dir/cpu.sql STATEMENTS=1 \
    OUT=${OUT:-results-read-latest.md} bash ab.sh

#!/usr/bin/env bash
# pg_steward benchmark: what a backfilled row costs with and without room
# on its page (issue 18, gov10; not part of CI).
#
# page_room.sh FF BATCH ROWS: ROWS rows of the governor benchmark's orders
# (USING steward) loaded at fillfactor FF into a fresh table, VACUUM, the
# migration total_amount -> total_cents started, CHECKPOINT, then one
# CALL steward.migration_backfill(name, BATCH) with no foreground (the
# governor lets it run at full speed).  Prints its time, the heap's and
# the primary key's pages before / after, the WAL bytes per row and the
# HOT updates (pg_stat_user_tables).  PREGROW=1: the table is first
# updated once and vacuumed (half its pages empty: the backfill reuses
# them instead of extending the table, still not HOT).  PERF=1: perf
# record -g of the backfill's backend (perf.FF.BATCH.PREGROW.data).
# The cluster (initdb on first use) stays running under BASE; stop it with
# pg_ctl -D $BASE/pgdata stop.  Run as root (the cluster runs as postgres).
# Environment: PGBIN (default: pg_config --bindir; the extension must be
# installed there), BASE=/var/tmp/pg_steward-bench-page-room, PORT=5496.
set -eu
FF=$1 B=$2 N=$3
PGBIN=${PGBIN:-$(pg_config --bindir)}
export PATH=$PGBIN:$PATH
S=${BASE:-/var/tmp/pg_steward-bench-page-room}; D=$S/pgdata
P=${PORT:-5496}
mkdir -p $S
# Commands as postgres take their arguments as data (TAP 041): PATH and
# every path go as "$1"..., never spliced into a command string.
pg_as() { su postgres -s /bin/bash -c 'export PATH="$1"; shift; exec "$@"' -- pg_as "$PATH" "$@"; }
if [ ! -d $D ]; then
  chown postgres $S
  pg_as initdb -D "$D" -A trust >/dev/null
  cat >> $D/postgresql.conf <<C
listen_addresses=''
unix_socket_directories='$S'
port=$P
shared_preload_libraries='pg_steward'
shared_buffers=512MB
max_wal_size=20GB
checkpoint_timeout=1h
autovacuum=off
steward.idempotency_purge_databases='none'
C
fi
pg_as pg_ctl -D "$D" -l "$S/log" -w start >/dev/null || true
q() { pg_as psql -X -q -h "$S" -p "$P" -d postgres -v ON_ERROR_STOP=1 "$@"; }
q -c 'DROP TABLE IF EXISTS orders CASCADE' >/dev/null 2>&1 || true
q -c 'CREATE EXTENSION IF NOT EXISTS pg_steward' >/dev/null 2>&1
q -c "SELECT steward.migration_rollback(name) FROM steward.migration_runs WHERE phase NOT IN ('rolled_back','cleaned_up')" >/dev/null 2>&1 || true
cat > $S/setup.sql <<SQL
DROP TABLE IF EXISTS orders;
CREATE TABLE orders (order_id bigint PRIMARY KEY, user_id bigint NOT NULL, status text NOT NULL DEFAULT 'created',
  total_amount numeric(12,2) NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now()) USING steward WITH (fillfactor = $FF);
INSERT INTO orders (order_id, user_id, total_amount) SELECT g, g % 1000, (g % 100000) / 100.0 FROM generate_series(1, $N) g;
$([ "${PREGROW:-0}" = 1 ] && echo 'UPDATE orders SET user_id = user_id; VACUUM orders;')
VACUUM ANALYZE orders;
SELECT steward.migration_start('p$FF$B${PREGROW:-0}_$$', \$\$[{"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents",
  "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]\$\$);
CHECKPOINT;
SQL
chown postgres $S/setup.sql
q -f $S/setup.sql >/dev/null
cat > $S/run.sql <<SQL
SELECT pg_relation_size('orders') AS heap0, pg_relation_size('orders_pkey') AS idx0, pg_current_wal_lsn() AS l0 \gset
\timing on
CALL steward.migration_backfill('p$FF$B${PREGROW:-0}_$$', $B);
\timing off
SELECT pg_stat_force_next_flush();
SELECT pg_sleep(0.1);
SELECT $N AS rows, pg_relation_size('orders') / 8192 AS heap_pages, :heap0 / 8192 AS heap_pages_before,
       pg_relation_size('orders_pkey') / 8192 AS idx_pages, :idx0 / 8192 AS idx_pages_before,
       round(pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0') / $N) AS wal_bytes_per_row,
       n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'orders';
SQL
chown postgres $S/run.sql
if [ "${PERF:-0}" = 1 ]; then
  q -c 'SELECT pg_sleep(0)' >/dev/null
  pg_as psql -X -h "$S" -p "$P" -d postgres -c 'SELECT pg_backend_pid()' -At -c 'SELECT pg_sleep(2)' -f "$S/run.sql" > $S/out.$FF.$B.${PREGROW:-0} 2>&1 &
  sleep 1; pid=$(head -1 $S/out.$FF.$B.${PREGROW:-0})
  perf record -g -o $S/perf.$FF.$B.${PREGROW:-0}.data -p $pid -- sleep 60 >/dev/null 2>&1 &
  wait %1; sleep 0.5; kill -INT %2 2>/dev/null || true; wait || true
else
  q -f $S/run.sql > $S/out.$FF.$B.${PREGROW:-0} 2>&1
fi
cat $S/out.$FF.$B.${PREGROW:-0}

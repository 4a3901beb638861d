-- steward_hash: a growable multi-column hash index.

-- Every operator class validates.
SELECT opc.opcname, opc.opcintype::regtype, amvalidate(opc.oid)
  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
 WHERE am.amname = 'steward_hash'
 ORDER BY 1;

-- One column of each supported type, indexed, compared with seq scans.
CREATE TABLE typed (
    t text, v varchar(40), b bytea, u uuid, i2 int2, i4 int4, i8 int8,
    n numeric, d date, ts timestamp, tz timestamptz
);
INSERT INTO typed
SELECT md5(g::text), 'v' || g, decode(md5(g::text), 'hex'),
       md5(g::text)::uuid, (g % 30000)::int2, g, g::int8 * 1000003,
       g / 7.0, date '2020-01-01' + g, timestamp '2020-01-01' + g * interval '1 minute',
       timestamptz '2020-01-01 00:00+00' + g * interval '1 second'
  FROM generate_series(1, 5000) g;
INSERT INTO typed VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE INDEX typed_t ON typed USING steward_hash (t);
CREATE INDEX typed_v ON typed USING steward_hash (v);
CREATE INDEX typed_b ON typed USING steward_hash (b);
CREATE INDEX typed_u ON typed USING steward_hash (u);
CREATE INDEX typed_i2 ON typed USING steward_hash (i2);
CREATE INDEX typed_i4 ON typed USING steward_hash (i4);
CREATE INDEX typed_i8 ON typed USING steward_hash (i8);
CREATE INDEX typed_n ON typed USING steward_hash (n);
CREATE INDEX typed_d ON typed USING steward_hash (d);
CREATE INDEX typed_ts ON typed USING steward_hash (ts);
CREATE INDEX typed_tz ON typed USING steward_hash (tz);
SELECT indexrelid::regclass AS index, opc.opcname
  FROM pg_index i JOIN pg_opclass opc ON opc.oid = i.indclass[0]
 WHERE indrelid = 'typed'::regclass ORDER BY 1;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM typed WHERE u = 'c4ca4238-a0b9-2382-0dcc-509a6f75849b';
SELECT i4 FROM typed WHERE t = md5('42');
SELECT i4 FROM typed WHERE v = 'v42';
SELECT i4 FROM typed WHERE v = 'v42'::text;
SELECT i4 FROM typed WHERE b = decode(md5('42'), 'hex');
SELECT i4 FROM typed WHERE u = md5('42')::uuid;
SELECT count(*) FROM typed WHERE i2 = 42;
SELECT i4 FROM typed WHERE i4 = 42;
SELECT i4 FROM typed WHERE i8 = 42000126;
SELECT i4 FROM typed WHERE n = 6.0;
SELECT i4 FROM typed WHERE n = 6.00000;
SELECT i4 FROM typed WHERE d = date '2020-01-01' + 42;
SELECT i4 FROM typed WHERE ts = timestamp '2020-01-01 00:42';
SELECT i4 FROM typed WHERE tz = timestamptz '2020-01-01 00:00:42+00';
-- Cross-type integer lookups use the index.
EXPLAIN (COSTS OFF) SELECT i4 FROM typed WHERE i8 = 42000126::int4;
SELECT i4 FROM typed WHERE i8 = 42000126::int4;
SELECT count(*) FROM typed WHERE i2 = 42::int8;
SELECT i4 FROM typed WHERE i4 = 42::int2;
-- NULL keys are not indexed: one entry per non-NULL key (typed has a row of
-- NULLs), built and inserted alike.
SELECT count(*) - count(t) AS null_rows,
       (SELECT entries FROM steward.hash_index_stats('typed_t')) = count(t) AS built_without_nulls
  FROM typed;
INSERT INTO typed (t, i4) VALUES (NULL, -1);
SELECT (SELECT entries FROM steward.hash_index_stats('typed_t')) = count(t) AS inserted_without_nulls
  FROM typed;
DELETE FROM typed WHERE i4 = -1;
-- "= NULL" known only at run time reaches the index scan (a constant NULL
-- is folded away by the planner) and finds nothing.
EXPLAIN (COSTS OFF) SELECT count(*) FROM typed WHERE t = (SELECT NULL::text);
SELECT count(*) FROM typed WHERE t = (SELECT NULL::text);
SELECT count(*) FROM typed WHERE i4 = 1 AND i4 = 2;
RESET enable_seqscan;

-- Every index is consistent with its table.
SELECT i.indexrelid::regclass, count(v.*) AS problems
  FROM pg_index i LEFT JOIN LATERAL steward.verify_index(i.indexrelid) v ON true
 WHERE i.indrelid = 'typed'::regclass
 GROUP BY 1 ORDER BY 1;

-- Multi-column keys; the planner uses the index only with every column.
CREATE TABLE payments (account_id bigint, request_id text, amount int);
INSERT INTO payments SELECT g % 100, 'req-' || g, g FROM generate_series(1, 20000) g;
CREATE INDEX payments_key ON payments USING steward_hash (account_id, request_id);
ANALYZE payments;
EXPLAIN (COSTS OFF) SELECT amount FROM payments WHERE account_id = 7 AND request_id = 'req-107';
SELECT amount FROM payments WHERE account_id = 7 AND request_id = 'req-107';
SELECT amount FROM payments WHERE account_id = 8 AND request_id = 'req-107';
EXPLAIN (COSTS OFF) SELECT count(*) FROM payments WHERE account_id = 7;
EXPLAIN (COSTS OFF) SELECT count(*) FROM payments WHERE request_id > 'req-9';
-- Forced onto a partial key, the index still answers correctly (full scan + recheck).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM payments WHERE account_id = 7;
SELECT count(*) FROM payments WHERE account_id = 7;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Identical answers to a btree for thousands of present and absent keys.
CREATE TABLE probe AS
SELECT account_id, request_id FROM payments WHERE amount % 10 = 0       -- present
UNION ALL
SELECT account_id + 1, request_id FROM payments WHERE amount % 10 = 5   -- absent
UNION ALL
SELECT g, 'nope-' || g FROM generate_series(1, 1000) g;                  -- absent
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT p.account_id, p.request_id, t.amount FROM probe p
  JOIN payments t ON t.account_id = p.account_id AND t.request_id = p.request_id;
CREATE TEMP TABLE via_hash AS
SELECT p.account_id, p.request_id, t.amount FROM probe p
  JOIN payments t ON t.account_id = p.account_id AND t.request_id = p.request_id;
DROP INDEX payments_key;
CREATE INDEX payments_btree ON payments (account_id, request_id);
CREATE TEMP TABLE via_btree AS
SELECT p.account_id, p.request_id, t.amount FROM probe p
  JOIN payments t ON t.account_id = p.account_id AND t.request_id = p.request_id;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT (SELECT count(*) FROM via_hash) AS hash_rows,
       (SELECT count(*) FROM via_btree) AS btree_rows,
       (SELECT count(*) FROM (SELECT * FROM via_hash EXCEPT ALL SELECT * FROM via_btree) x) AS only_hash,
       (SELECT count(*) FROM (SELECT * FROM via_btree EXCEPT ALL SELECT * FROM via_hash) x) AS only_btree;
DROP INDEX payments_btree;

-- Uniqueness through exclusion constraints.
CREATE TABLE idem (scope text, key text, response text,
    CONSTRAINT idem_once EXCLUDE USING steward_hash (scope WITH =, key WITH =));
INSERT INTO idem VALUES ('acct-1', 'k1', 'first');
INSERT INTO idem VALUES ('acct-1', 'k1', 'second');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO idem VALUES ('acct-2', 'k1', 'other scope');
INSERT INTO idem VALUES ('acct-1', 'k1', 'retry') ON CONFLICT ON CONSTRAINT idem_once DO NOTHING;
INSERT INTO idem VALUES ('acct-1', 'k1', 'retry'), ('acct-1', 'k2', 'new') ON CONFLICT DO NOTHING;
-- NULL keys never conflict.
INSERT INTO idem VALUES (NULL, 'k1', 'a'), (NULL, 'k1', 'b');
SELECT scope, key, response FROM idem ORDER BY 1, 2, 3;
-- DO UPDATE needs a unique index arbiter; PostgreSQL says so.
INSERT INTO idem VALUES ('acct-1', 'k1', 'x') ON CONFLICT ON CONSTRAINT idem_once DO UPDATE SET response = 'y';

-- Unique steward_hash indexes are refused, pointing at the EXCLUDE form.
CREATE UNIQUE INDEX idem_unique ON idem USING steward_hash (scope, key);
-- So are storage parameters.
CREATE INDEX idem_ff ON idem USING steward_hash (key) WITH (fillfactor = 50);

-- Growth from empty, churn, VACUUM, reuse of space.
CREATE TABLE churn (id int, k text) USING steward;
CREATE INDEX churn_k ON churn USING steward_hash (k);
SELECT buckets, pages, entries FROM steward.hash_index_stats('churn_k');
INSERT INTO churn SELECT g, 'key-' || g FROM generate_series(1, 60000) g;
SELECT buckets > 64 AS grew, entries, longest_chain <= 3 AS short_chains
  FROM steward.hash_index_stats('churn_k');
DELETE FROM churn WHERE id % 2 = 0;
VACUUM churn;
SELECT entries FROM steward.hash_index_stats('churn_k');
SELECT pg_relation_size('churn_k') AS size_before \gset
INSERT INTO churn SELECT g, 'key-' || g FROM generate_series(60001, 90000) g;
SELECT pg_relation_size('churn_k') <= :size_before AS space_reused;
UPDATE churn SET k = k || '!' WHERE id % 5 = 0;
DELETE FROM churn WHERE id % 7 = 0;
VACUUM churn;
SELECT * FROM steward.verify_index('churn_k');
SET enable_seqscan = off;
SELECT id FROM churn WHERE k = 'key-15!';   -- renamed
SELECT id FROM churn WHERE k = 'key-15';    -- old name gone
SELECT id FROM churn WHERE k = 'key-11';    -- untouched
SELECT id FROM churn WHERE k = 'key-49';    -- deleted
SELECT count(*) FROM churn WHERE k = 'key-77777';
RESET enable_seqscan;

-- CREATE INDEX over existing rows sizes the buckets from the row count.
CREATE INDEX churn_k_built ON churn USING steward_hash (k);
SELECT longest_chain, overflow_pages FROM steward.hash_index_stats('churn_k_built');
SELECT * FROM steward.verify_index('churn_k_built');
REINDEX INDEX churn_k;
SELECT * FROM steward.verify_index('churn_k');
CREATE INDEX CONCURRENTLY churn_k_cic ON churn USING steward_hash (k, id);
SELECT * FROM steward.verify_index('churn_k_cic');

-- Unlogged and temporary tables.
CREATE UNLOGGED TABLE ulog (k text);
CREATE INDEX ulog_k ON ulog USING steward_hash (k);
INSERT INTO ulog SELECT 'u' || g FROM generate_series(1, 3000) g;
SELECT count(*) FROM ulog WHERE k = 'u77';
CREATE TEMP TABLE tmp (k int);
CREATE INDEX tmp_k ON tmp USING steward_hash (k);
INSERT INTO tmp SELECT g FROM generate_series(1, 3000) g;
SELECT * FROM steward.verify_index('tmp_k');

-- verify_index detects a live row without an entry.
CREATE TABLE broken (k int);
CREATE INDEX broken_k ON broken USING steward_hash (k);
INSERT INTO broken VALUES (1), (2);
SET session_replication_role = replica;
UPDATE pg_index SET indisready = false WHERE indexrelid = 'broken_k'::regclass;
RESET session_replication_role;
INSERT INTO broken VALUES (3);
UPDATE pg_index SET indisready = true WHERE indexrelid = 'broken_k'::regclass;
SELECT problem, regexp_replace(detail, 'hash \w+', 'hash ...') AS detail
  FROM steward.verify_index('broken_k');

-- Wrong kinds of relation.
SELECT * FROM steward.verify_index('payments');
CREATE INDEX payments_bt ON payments (amount);
SELECT * FROM steward.verify_index('payments_bt');
SELECT * FROM steward.hash_index_stats('payments_bt');

DROP TABLE typed, payments, probe, idem, churn, ulog, tmp, broken;

-- (1) one index size measurement: a table that already has its index gets
-- the rows of src_<kt> (random keys, random order) in one INSERT.
-- Variables: am (steward_hash | btree | hash), kt (text | int8), src (table).
-- Prints one line: size_bytes|insert_ms|steward stats (or empty)|WAL bytes of the INSERT
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\o /dev/null
SET client_min_messages = warning;
DROP TABLE IF EXISTS size_t;
CREATE TABLE size_t (k :kt);
CREATE INDEX size_t_k ON size_t USING :am (k);
SELECT clock_timestamp() AS t0, pg_current_wal_insert_lsn() AS lsn0 \gset
INSERT INTO size_t SELECT k FROM :src;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1) AS ms,
       pg_current_wal_insert_lsn() - :'lsn0'::pg_lsn AS wal \gset
\o
SELECT pg_relation_size('size_t_k') || '|' || :ms || '|' ||
       CASE WHEN :'am' = 'steward_hash' THEN
           (SELECT format('buckets=%s pages=%s overflow=%s unused=%s longest_chain=%s fill=%s',
                          buckets, pages, overflow_pages, unused_pages, longest_chain,
                          round(fill::numeric, 3))
              FROM steward.hash_index_stats('size_t_k'))
       ELSE '' END || '|' || :wal;
\o /dev/null
DROP TABLE size_t;

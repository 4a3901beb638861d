-- review19 F3 (guard10): a sequence OWNED BY a column the cleanup or a
-- rollback drops (a relayout's layout that goes, a partition of a
-- layout, a column migration's old column, new column or _steward_side)
-- went with the drop without a word (an AUTO dependency, which the
-- guard skipped), where every sibling dependency is refused 55006: now
-- refused too, the HINT naming the column that stays.  A sequence owned
-- by the table itself is carried by the cutover (kept after cleanup).  A
-- publication of a layout the cleanup or a rollback drops (the new one
-- before complete, _relayout_old after it, a partition of either) was
-- emptied silently (CREATE PUBLICATION ... FOR TABLE was not judged,
-- ALTER PUBLICATION only for the new layout): refused alike; the table
-- itself after complete is accepted (was refused).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g10_app;
RESET client_min_messages;
CREATE ROLE g10_app;
GRANT CREATE ON SCHEMA public TO g10_app;
SELECT format('GRANT CREATE ON DATABASE %I TO g10_app', current_database()) \gexec
SET ROLE g10_app;

-- 1. relayout: before complete
CREATE TABLE g10_so(id bigint PRIMARY KEY, uid bigint, amt int) USING steward;
INSERT INTO g10_so SELECT g, g % 7, g FROM generate_series(1, 200) g;
SELECT steward.migration_start('g10_rm', $$[{"relayout": {"table": "g10_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CREATE SEQUENCE g10_s_new OWNED BY g10_so_relayout_new.id;          -- refused: a rollback drops the new layout
CREATE SEQUENCE g10_s_part OWNED BY g10_so_p0.id;                   -- refused: a partition of the new layout
CREATE SEQUENCE g10_s_tab;
SELECT nextval('g10_s_tab');
ALTER SEQUENCE g10_s_tab OWNED BY g10_so.uid;                       -- accepted: the cutover carries it
CREATE SEQUENCE g10_s_tab2 OWNED BY g10_so.uid;                     -- refused: the cutover carries one per column
CREATE PUBLICATION g10_p_new FOR TABLE g10_so_relayout_new;         -- refused
CREATE PUBLICATION g10_p_e;
ALTER PUBLICATION g10_p_e ADD TABLE g10_so_p1;                      -- refused
SELECT count(*) AS refused_sequences FROM pg_class WHERE relname IN ('g10_s_new', 'g10_s_part', 'g10_s_tab2');
CALL steward.migration_backfill('g10_rm');
SELECT count(*) AS failed FROM steward.migration_validate('g10_rm') WHERE NOT passed;
SELECT steward.migration_complete('g10_rm');

-- 2. relayout: after complete (review19's input)
CREATE SEQUENCE g10_myseq;
SELECT nextval('g10_myseq');
ALTER SEQUENCE g10_myseq OWNED BY g10_so_relayout_old.id;           -- refused: the cleanup drops the old layout
ALTER SEQUENCE g10_myseq OWNED BY g10_so.id;                        -- accepted: the table
CREATE PUBLICATION g10_p_old FOR TABLE g10_so_relayout_old;         -- refused
ALTER PUBLICATION g10_p_e ADD TABLE g10_so_relayout_old;            -- refused
ALTER PUBLICATION g10_p_e ADD TABLE g10_so;                         -- accepted: the table (was refused)
SELECT steward.migration_cleanup('g10_rm');
SELECT c.relname, pg_get_serial_sequence('g10_so', a.attname) AS owned_by_table, s.last_value
  FROM pg_class c JOIN pg_sequences s ON s.sequencename = c.relname
  LEFT JOIN pg_attribute a ON a.attrelid = 'g10_so'::regclass AND a.attname IN ('id', 'uid')
       AND pg_get_serial_sequence('g10_so', a.attname)::regclass = c.oid
 WHERE c.relname LIKE 'g10\_%' AND c.relkind = 'S' ORDER BY 1;
SELECT pubname, tablename FROM pg_publication_tables WHERE pubname LIKE 'g10\_%' ORDER BY 1, 2;

-- 3. relayout rolled back: the table's own sequence stays
CREATE TABLE g10_rb(id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO g10_rb SELECT g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('g10_rr', $$[{"relayout": {"table": "g10_rb", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CREATE SEQUENCE g10_rb_seq OWNED BY g10_rb_relayout_new.v;          -- refused
CREATE SEQUENCE g10_rb_seq OWNED BY g10_rb.v;                       -- accepted
SELECT steward.migration_rollback('g10_rr');
SELECT pg_get_serial_sequence('g10_rb', 'v') AS kept;

-- 4. column migration (review19's variant)
CREATE TABLE g10_inv(id int PRIMARY KEY, amt int, note text) USING steward;
INSERT INTO g10_inv SELECT g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('g10_cm', $$[{"alter_column": {"table": "g10_inv", "column": "amt", "name": "amt2", "type": "bigint"}},
                                            {"drop_column": {"table": "g10_inv", "column": "note"}}]$$);
CREATE SEQUENCE g10_c1 OWNED BY g10_inv.amt;                        -- refused: the old column
CREATE SEQUENCE g10_c2 OWNED BY g10_inv.amt2;                       -- refused: a rollback drops it
CREATE SEQUENCE g10_c3 OWNED BY g10_inv.note;                       -- refused: dropped at cleanup
CREATE SEQUENCE g10_c4 OWNED BY g10_inv._steward_side;              -- refused
CREATE SEQUENCE g10_c5 OWNED BY g10_inv.id;                         -- accepted
CALL steward.migration_backfill('g10_cm');
SELECT count(*) AS failed FROM steward.migration_validate('g10_cm') WHERE NOT passed;
SELECT steward.migration_complete('g10_cm');
CREATE SEQUENCE g10_s_old;
SELECT nextval('g10_s_old');
ALTER SEQUENCE g10_s_old OWNED BY g10_inv._steward_old_amt;        -- refused
SELECT steward.migration_cleanup('g10_cm');
ALTER SEQUENCE g10_s_old OWNED BY g10_inv.amt2;                     -- accepted now
SELECT relname FROM pg_class WHERE relname LIKE 'g10\_c%' OR relname = 'g10_s_old' ORDER BY 1;

DROP PUBLICATION g10_p_e;
DROP TABLE g10_so, g10_rb, g10_inv;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM g10_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g10_app', current_database()) \gexec
DROP ROLE g10_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('g10_rm', 'g10_rr', 'g10_cm');
\i test/sql/drop_migration_records.sql

-- Column migrations and the shape of a table around the changed column
-- (review8 #29, #20): a table in an inheritance hierarchy is refused at
-- start (the migration writes, fills and checks only the table's own
-- rows, while its column changes reach every table of the hierarchy), and
-- validate, complete and cleanup refuse one that joined a hierarchy since;
-- an alter_column whose old column carries constraints the step does not
-- give the new column, or a key other tables reference, is refused at
-- start instead of losing them at cleanup.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. Inheritance: parent with a child (the review's reproduction).
CREATE TABLE ij (id int PRIMARY KEY, price numeric) USING steward;
CREATE TABLE ij_child (extra text) INHERITS (ij);
INSERT INTO ij VALUES (1, 1.5);
INSERT INTO ij_child VALUES (2, 2.5, 'x');
SELECT steward.migration_start('ij_m', '[{"alter_column": {"table": "ij", "column": "price", "name": "cents", "type": "bigint", "up": "(price*100)::bigint", "down": "cents/100.0"}}]');
-- other step kinds too, and nothing was changed
SELECT steward.migration_start('ij_m', '[{"add_column": {"table": "ij", "column": "note", "type": "text"}}]');
SELECT steward.migration_start('ij_m', '[{"drop_column": {"table": "ij", "column": "price"}}]');
SELECT attname FROM pg_attribute WHERE attrelid = 'ij_child'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- the child itself (the review's variant: its column is inherited)
CREATE TABLE ipar (id int, price numeric);
CREATE TABLE ichild (PRIMARY KEY (id)) INHERITS (ipar);
INSERT INTO ichild VALUES (1, 3.5);
SELECT steward.migration_start('ic_m', '[{"alter_column": {"table": "ichild", "column": "price", "name": "cents", "type": "bigint", "up": "(price*100)::bigint", "down": "cents/100.0"}}]');
-- several children, one of them a grandchild's parent
CREATE TABLE many (id int PRIMARY KEY, a int);
CREATE TABLE many_c1 () INHERITS (many);
CREATE TABLE many_c2 () INHERITS (many);
CREATE TABLE many_g () INHERITS (many_c2);
SELECT steward.migration_start('many_m', '[{"add_column": {"table": "many", "column": "b", "type": "int", "up": "a"}}]');
SELECT steward.migration_start('many_m', '[{"add_column": {"table": "many_c2", "column": "b", "type": "int", "up": "a"}}]');
SELECT count(*) FROM steward.migrations WHERE name IN ('ij_m', 'ic_m', 'many_m');

-- 2. Partitions and partitioned tables.
CREATE TABLE pt (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1);
SELECT steward.migration_start('pt_m', '[{"add_column": {"table": "pt", "column": "w", "type": "int"}}]');
SELECT steward.migration_start('pt_m', '[{"alter_column": {"table": "pt1", "column": "v", "type": "bigint"}}]');

-- 3. A child that joins after start: refused by the DDL guard; created
-- anyway (a superuser going around the guard), validate fails, complete
-- and cleanup refuse, the child's values stay; detaching it lets the
-- migration go on.
CREATE TABLE lj (id int PRIMARY KEY, price numeric) USING steward;
INSERT INTO lj VALUES (1, 1.5), (2, 2.5);
SELECT steward.migration_start('lj_m', '[{"alter_column": {"table": "lj", "column": "price", "name": "cents", "type": "bigint", "up": "(price*100)::bigint", "down": "cents/100.0"}}]');
CALL steward.migration_backfill('lj_m');
CREATE TABLE lj_late () INHERITS (lj);
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
CREATE TABLE lj_late () INHERITS (lj);
INSERT INTO lj_late (id, price) VALUES (3, 3.5);
SELECT * FROM steward.migration_validate('lj_m') ORDER BY 1;
SELECT phase, failed FROM steward.migrations WHERE name = 'lj_m';
SELECT steward.migration_complete('lj_m');
ALTER TABLE lj_late NO INHERIT lj;
SELECT bool_and(passed) FROM steward.migration_validate('lj_m');
SELECT steward.migration_complete('lj_m');
-- a child created between complete and cleanup
CREATE TABLE lj_later () INHERITS (lj);
INSERT INTO lj_later (id, cents, _steward_old_price) VALUES (4, 450, 4.5);
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT steward.migration_cleanup('lj_m');
SELECT * FROM lj_later;
ALTER TABLE lj_later NO INHERIT lj;
SELECT steward.migration_cleanup('lj_m');
SELECT * FROM lj ORDER BY id;
SELECT id, price, cents FROM lj_late;
SELECT id, cents, _steward_old_price FROM lj_later;

-- 4. alter_column and the old column's constraints (the review's
-- reproduction): a CHECK over the column alone, a simple foreign key and a
-- single-column UNIQUE constraint are carried over to the new column
-- (NOT VALID, validated by migration_validate, built at the end of the
-- backfill), and keep their names after cleanup.
CREATE TABLE par (id int PRIMARY KEY) USING steward;
INSERT INTO par VALUES (1), (2);
CREATE TABLE chi (id int PRIMARY KEY, par_id int REFERENCES par(id) ON DELETE CASCADE,
                  qty int CHECK (qty > 0), email text UNIQUE, tag text) USING steward;
INSERT INTO chi VALUES (1, 1, 5, 'a@x', 't');
SELECT steward.migration_start('chi_m', '[{"alter_column": {"table": "chi", "column": "par_id", "type": "bigint"}},
                                          {"alter_column": {"table": "chi", "column": "qty", "type": "bigint"}},
                                          {"alter_column": {"table": "chi", "column": "email", "type": "varchar(200)"}}]');
SELECT old_name, check_sql, fk_table::regclass, fk_on_delete, unique_method
  FROM steward.migration_columns WHERE migration = 'chi_m' ORDER BY ord;
-- while expanded, the old and the new column are both checked
UPDATE chi SET qty = -1 WHERE id = 1;
UPDATE chi_m.chi SET qty = -1 WHERE id = 1;
CALL steward.migration_backfill('chi_m');
SELECT * FROM steward.migration_validate('chi_m') ORDER BY 1;
SELECT steward.migration_complete('chi_m');
SELECT steward.migration_cleanup('chi_m');
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'chi'::regclass ORDER BY conname;
INSERT INTO chi (id, par_id, qty, email) VALUES (2, 99, 5, 'b@x');
INSERT INTO chi (id, par_id, qty, email) VALUES (2, 1, -5, 'b@x');
INSERT INTO chi (id, par_id, qty, email) VALUES (2, 1, 5, 'a@x');
DELETE FROM par WHERE id = 1;
SELECT count(*) FROM chi;
INSERT INTO par VALUES (1);
INSERT INTO chi (id, par_id, qty, email, tag) VALUES (1, 1, 5, 'a@x', 't');

-- What cannot be carried is refused, naming it, before anything changes:
-- a second CHECK, a check naming another column, a unique index that is
-- not a constraint, a renamed column's check, a referenced key, a foreign
-- key with ON UPDATE.
CREATE UNIQUE INDEX chi_tag_lower ON chi (lower(tag));
CREATE UNIQUE INDEX chi_tag ON chi (tag);
ALTER TABLE chi ADD CONSTRAINT chi_tag_qty CHECK (tag <> '' OR qty > 1);
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "tag", "type": "varchar(20)"}}]');
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "qty", "type": "int"}}]');
ALTER TABLE chi DROP CONSTRAINT chi_tag_qty;
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "qty", "name": "quantity", "type": "int"}}]');
CREATE TABLE other_ref (id int PRIMARY KEY, email text REFERENCES chi(email));
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "email", "type": "text", "unique": true}}]');
DROP TABLE other_ref;
ALTER TABLE chi ADD COLUMN p2 int REFERENCES par(id) ON UPDATE CASCADE;
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "p2", "type": "bigint"}}]');
-- a check that does not fit the new type
SELECT steward.migration_start('chi_x', '[{"alter_column": {"table": "chi", "column": "qty", "type": "text", "up": "qty::text", "down": "qty::bigint"}}]');
SELECT count(*) FROM steward.migrations WHERE name = 'chi_x';
-- The step's own keys: its "check" is and'ed with the carried one,
-- "unique": false goes without, "references" replaces the foreign key.
SELECT steward.migration_start('chi_y', '[{"alter_column": {"table": "chi", "column": "qty", "type": "int", "check": "qty < 100"}},
                                          {"alter_column": {"table": "chi", "column": "email", "type": "text", "unique": false}},
                                          {"alter_column": {"table": "chi", "column": "par_id", "type": "int", "references": {"table": "par", "on_delete": "restrict"}}}]');
SELECT old_name, check_sql, fk_on_delete, unique_method
  FROM steward.migration_columns WHERE migration = 'chi_y' ORDER BY ord;
SELECT steward.migration_rollback('chi_y');
-- A rename keeps the column and its constraints: accepted.
SELECT steward.migration_start('chi_r', '[{"alter_column": {"table": "chi", "column": "qty", "name": "quantity"}}]');
SELECT steward.migration_rollback('chi_r');

-- 6. The column's default is kept through a type change (before, the new
-- column had none); one that does not fit the new type needs "default".
CREATE TABLE dfl (id int PRIMARY KEY, qty int NOT NULL DEFAULT 1, tag text DEFAULT 'x') USING steward;
INSERT INTO dfl (id) VALUES (1);
SELECT steward.migration_start('dfl_m', '[{"alter_column": {"table": "dfl", "column": "qty", "type": "bigint"}}]');
INSERT INTO dfl_m.dfl (id) VALUES (2);
CALL steward.migration_backfill('dfl_m');
SELECT bool_and(passed) FROM steward.migration_validate('dfl_m');
SELECT steward.migration_complete('dfl_m');
SELECT steward.migration_cleanup('dfl_m');
INSERT INTO dfl (id) VALUES (3);
SELECT id, qty, pg_typeof(qty) FROM dfl ORDER BY id;
SELECT steward.migration_start('dfl_t', '[{"alter_column": {"table": "dfl", "column": "tag", "type": "int", "up": "length(tag)", "down": "tag::text"}}]');
SELECT steward.migration_start('dfl_t', '[{"alter_column": {"table": "dfl", "column": "tag", "type": "int", "up": "length(tag)", "down": "tag::text", "default": "NULL"}}]');
SELECT steward.migration_rollback('dfl_t');
-- Other indexes on the column are not copied: a NOTICE names each with the
-- concurrent build that keeps it (it follows the column through the switch).
CREATE INDEX dfl_tag ON dfl (tag);
CREATE INDEX dfl_tag_id ON dfl (id, lower(tag));
SELECT steward.migration_start('dfl_i', '[{"alter_column": {"table": "dfl", "column": "tag", "type": "varchar(10)"}}]');
CREATE INDEX CONCURRENTLY dfl_tag_new ON dfl (_steward_new_tag);
CALL steward.migration_backfill('dfl_i');
SELECT bool_and(passed) FROM steward.migration_validate('dfl_i');
SELECT steward.migration_complete('dfl_i');
SELECT steward.migration_cleanup('dfl_i');
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'dfl'::regclass ORDER BY 1;
-- A column that owns a sequence would lose it at cleanup.
CREATE TABLE sq (id int PRIMARY KEY, n serial);
SELECT steward.migration_start('sq_m', '[{"alter_column": {"table": "sq", "column": "n", "type": "bigint"}}]');
DROP TABLE dfl, sq;
DROP TABLE ij, ij_child, ipar, ichild, many, many_c1, many_c2, many_g, pt, lj, lj_late, lj_later, chi, par CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('lj_m'), ('chi_m'), ('chi_y'), ('chi_r'),
    ('dfl_m'), ('dfl_t'), ('dfl_i');
\i test/sql/drop_migration_records.sql

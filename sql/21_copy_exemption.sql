-- Issue 12 item 3: which rows may start in a non-initial state.  Only the
-- rows COPY FROM itself loads into its target (and the partitions it routes
-- to) are exempt, whatever track_activities says; anything else that inserts
-- while a COPY runs, and the INSERT inside COPY (...) TO, is an INSERT.
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('copy_status',
    ARRAY['created', 'paid', 'refunded'], ARRAY['created'],
    ARRAY['created->paid', 'paid->refunded']);

CREATE TABLE copy_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created')
    USING steward;
SELECT steward.attach_state_machine('copy_orders', 'status', 'copy_status');

-- The issue's input: COPY (INSERT ... RETURNING) TO is an INSERT.  (psql does
-- not set LAST_ERROR_SQLSTATE for COPY; the messages are 23514's.)
COPY (INSERT INTO copy_orders VALUES (2, 'refunded') RETURNING id, status) TO STDOUT;
COPY (INSERT INTO copy_orders VALUES (2, 'created') RETURNING id, status) TO STDOUT;

-- COPY FROM loads any declared state, also with track_activities off (no
-- progress report to look at).
SET track_activities = off;
COPY copy_orders FROM stdin;
3	refunded
4	paid
\.
RESET track_activities;
-- ... but not an undeclared one.
COPY copy_orders FROM stdin;
5	lost
\.

-- A trigger that inserts during COPY FROM is not COPY: its row must start in
-- an initial state, into the same table or another one.
CREATE TABLE copy_audit (id int PRIMARY KEY, status text) USING steward;
SELECT steward.attach_state_machine('copy_audit', 'status', 'copy_status');
CREATE FUNCTION copy_side_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO copy_audit VALUES (NEW.id, NEW.status);
    RETURN NEW;
END $$;
CREATE TRIGGER side BEFORE INSERT ON copy_orders
    FOR EACH ROW EXECUTE FUNCTION copy_side_insert();
COPY copy_orders FROM stdin;
6	paid
\.
-- The same COPY with an initial state passes through the trigger (which
-- also makes COPY insert row by row instead of in batches).
COPY copy_orders FROM stdin;
6	created
\.
DROP TRIGGER side ON copy_orders;
CREATE FUNCTION copy_self_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id < 100 THEN
        INSERT INTO copy_orders VALUES (NEW.id + 100, NEW.status);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER self AFTER INSERT ON copy_orders
    FOR EACH ROW EXECUTE FUNCTION copy_self_insert();
COPY copy_orders FROM stdin;
7	refunded
\.
DROP TRIGGER self ON copy_orders;

-- INSERT ... SELECT from a COPY-loaded table is an INSERT.
INSERT INTO copy_orders SELECT id + 50, status FROM copy_orders WHERE id = 3;
\echo :LAST_ERROR_SQLSTATE

-- Partitions with different attribute numbers: COPY into the parent routes
-- rows to partitions, and those rows are COPY's own.
CREATE TABLE copy_parts (region text NOT NULL, id int NOT NULL, status text NOT NULL DEFAULT 'created',
    PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE copy_parts_eu PARTITION OF copy_parts FOR VALUES IN ('eu') USING steward;
CREATE TABLE copy_parts_us (junk int, status text NOT NULL DEFAULT 'created', id int NOT NULL,
    region text NOT NULL) USING steward;
ALTER TABLE copy_parts_us DROP COLUMN junk;
ALTER TABLE copy_parts ATTACH PARTITION copy_parts_us FOR VALUES IN ('us');
SELECT steward.attach_state_machine('copy_parts', 'status', 'copy_status');
SET track_activities = off;
COPY copy_parts FROM stdin;
eu	1	paid
us	2	refunded
\.
RESET track_activities;
COPY copy_parts_us (region, id, status) FROM stdin;
us	3	paid
\.
INSERT INTO copy_parts VALUES ('us', 4, 'paid');
\echo :LAST_ERROR_SQLSTATE
COPY (INSERT INTO copy_parts VALUES ('eu', 5, 'refunded') RETURNING *) TO STDOUT;
SELECT tableoid::regclass AS part, region, id, status FROM copy_parts ORDER BY region, id;

-- A table rewrite copies the stored rows (into a new relation, which has
-- no rules) and changes nothing.
ALTER TABLE copy_orders ALTER COLUMN id TYPE bigint;
SELECT id, status FROM copy_orders ORDER BY id;

DROP TABLE copy_orders, copy_audit, copy_parts;
DROP FUNCTION copy_side_insert(), copy_self_insert();
SELECT steward.drop_state_machine('copy_status');

-- COPY FROM loads any declared state (with changed_at as sent) only as the
-- table's owner: restores.  A role with INSERT and DELETE used to load any
-- state with a forged changed_at, and walk a row back through its machine
-- by deleting it and copying it again (review of 0.2).
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('co_status',
    ARRAY['created', 'paid', 'delivered'], ARRAY['created'],
    ARRAY['created->paid', 'paid->delivered']);
CREATE ROLE co_owner;
CREATE ROLE co_app;
CREATE ROLE co_loader;
GRANT co_owner TO co_loader;
SELECT steward.grant_state_machine('co_status', 'co_owner');
CREATE SCHEMA co AUTHORIZATION co_owner;
GRANT USAGE ON SCHEMA co TO co_app, co_loader;
SET search_path = co, public;
SET ROLE co_owner;
CREATE TABLE co_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
                        ch timestamptz, v bigint) USING steward;
SELECT steward.attach_state_machine('co_orders', 'status', 'co_status', changed_at_column => 'ch');
SELECT steward.track_versions('co_orders', 'v');
GRANT SELECT, INSERT, UPDATE, DELETE ON co_orders TO co_app;
INSERT INTO co_orders (id) VALUES (2);
UPDATE co_orders SET status = 'paid' WHERE id = 2;
RESET ROLE;

-- The application: a row may not start delivered, not even by COPY ...
SET ROLE co_app;
COPY co_orders (id, status, ch, v) FROM stdin;
11	delivered	2000-01-01 00:00:00+00	1
\.
-- ... nor can a paid row be deleted and copied back as created: the row is
-- gone for good (the DELETE committed) but not walked back; a created row
-- copies in as an insert would, with changed_at stamped now.
DELETE FROM co_orders WHERE id = 2;
COPY co_orders (id, status, ch) FROM stdin;
2	created	2000-01-01 00:00:00+00
\.
SELECT id, status, ch > now() - interval '1 hour' AS stamped_now, v FROM co_orders ORDER BY id;
-- The batched and the row-by-row COPY paths alike (a BEFORE trigger makes
-- COPY insert row by row).
RESET ROLE;
CREATE FUNCTION co_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER co_noop BEFORE INSERT ON co_orders FOR EACH ROW EXECUTE FUNCTION co_noop();
SET ROLE co_app;
COPY co_orders (id, status) FROM stdin;
12	paid
\.
RESET ROLE;
DROP TRIGGER co_noop ON co_orders;

-- The owner (a restore) may load any declared state with changed_at as
-- sent; so may a member of the owner's role and a superuser.
SET ROLE co_owner;
COPY co_orders (id, status, ch, v) FROM stdin;
21	delivered	2000-01-01 00:00:00+00	7
\.
RESET ROLE;
SET ROLE co_loader;
COPY co_orders (id, status, ch) FROM stdin;
22	paid	2001-01-01 00:00:00+00
\.
RESET ROLE;
COPY co_orders (id, status, ch) FROM stdin;
23	delivered	2002-01-01 00:00:00+00
\.
-- ... but not an undeclared one.
COPY co_orders (id, status) FROM stdin;
24	lost
\.
SELECT id, status, ch, v FROM co_orders WHERE id > 20 ORDER BY id;

-- Partitions are judged by their own owner: the application's COPY into the
-- parent routes rows to partitions it does not own.
SET ROLE co_owner;
CREATE TABLE co_parts (region text NOT NULL, id int NOT NULL, status text NOT NULL DEFAULT 'created',
                       PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE co_parts_eu PARTITION OF co_parts FOR VALUES IN ('eu') USING steward;
SELECT steward.attach_state_machine('co_parts', 'status', 'co_status');
GRANT SELECT, INSERT ON co_parts TO co_app;
COPY co_parts FROM stdin;
eu	1	paid
\.
RESET ROLE;
SET ROLE co_app;
COPY co_parts FROM stdin;
eu	2	paid
\.
COPY co_parts FROM stdin;
eu	3	created
\.
RESET ROLE;
SELECT region, id, status FROM co_parts ORDER BY id;

DROP TABLE co_parts, co_orders;
DROP FUNCTION co_noop();
SELECT steward.drop_state_machine('co_status');
DROP SCHEMA co;
RESET search_path;
DROP ROLE co_owner, co_app, co_loader;

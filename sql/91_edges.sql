-- Lifecycle, verify and checksum ranges at the edges (issue 13): any key
-- type, no endless loops, no false alarms, clear errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY terse

-- Keys without min/max: uuid.
CREATE TABLE e_users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text, email_norm text,
  state text NOT NULL DEFAULT 'pending') USING steward;
SELECT steward.create_state_machine('e_mig', ARRAY['pending', 'done'], ARRAY['pending'], ARRAY['pending->done']);
SELECT steward.attach_state_machine('e_users', 'state', 'e_mig');
INSERT INTO e_users (email) SELECT 'U' || g FROM generate_series(1, 50) g;
CALL steward.run_transition('e_users', 'pending', 'done', 'email_norm = lower(email)', 10);
SELECT state, count(*), count(*) FILTER (WHERE email_norm = lower(email)) AS normalized
  FROM e_users GROUP BY 1;
SELECT sum(rows) AS rows, count(*) FILTER (WHERE min_key ~ '^[0-9a-f-]{36}$') AS uuid_bounds
  FROM steward.checksum_ranges('e_users', 'id', 4);
SELECT count(*) FROM steward.verify('e_users') WHERE passed IS DISTINCT FROM true;

-- run_transition over a matrix of keys: every btree-orderable key type,
-- a composite key, a nondeterministic collation, and no primary key.
CREATE TYPE e_level AS ENUM ('low', 'mid', 'high');
CREATE COLLATION e_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
DO $$
DECLARE
    spec text[];
    specs text[][] := ARRAY[
        ARRAY['bytea', 'decode(md5(g::text), ''hex'')', 'PRIMARY KEY (k)'],
        ARRAY['numeric', 'g / 3.0', 'PRIMARY KEY (k)'],
        ARRAY['timestamptz', 'timestamptz ''2026-01-01'' + g * interval ''1 min''', 'PRIMARY KEY (k)'],
        ARRAY['e_level', '(ARRAY[''low'',''mid'',''high''])[g % 3 + 1]::e_level', 'PRIMARY KEY (k, g)'],
        ARRAY['text COLLATE e_ci', '''Key '' || g', 'PRIMARY KEY (k)'],
        ARRAY['text COLLATE "C"', '''é'' || g', 'PRIMARY KEY (k)'],
        ARRAY['bool', 'g % 2 = 0', 'PRIMARY KEY (k, g)'],
        ARRAY['int', 'g % 5', '']];
    n bigint;
BEGIN
    FOREACH spec SLICE 1 IN ARRAY specs LOOP
        EXECUTE format('CREATE TABLE e_m (k %s NOT NULL, g int NOT NULL, done_at int, '
                       'state text NOT NULL DEFAULT ''pending''%s) USING steward',
                       spec[1], CASE WHEN spec[3] = '' THEN '' ELSE ', ' || spec[3] END);
        EXECUTE format('INSERT INTO e_m (k, g) SELECT %s, g FROM generate_series(1, 45) g', spec[2]);
        PERFORM steward.attach_state_machine('e_m', 'state', 'e_mig');
        COMMIT;
        CALL steward.run_transition('e_m', 'pending', 'done', 'done_at = g', 7);
        SELECT count(*) INTO n FROM e_m WHERE state = 'done' AND done_at = g;
        RAISE NOTICE '% %: % of 45 rows moved', spec[1], spec[3], n;
        DROP TABLE e_m;
        COMMIT;
    END LOOP;
END
$$;
DROP COLLATION e_ci;
DROP TYPE e_level;

-- A transition to the same state is refused: it would never end.
CREATE TABLE e_items (id int PRIMARY KEY, price numeric, price_cents bigint,
                      state text NOT NULL DEFAULT 'pending') USING steward;
SELECT steward.attach_state_machine('e_items', 'state', 'e_mig');
INSERT INTO e_items (id, price) SELECT g, g FROM generate_series(1, 20) g;
CALL steward.run_transition('e_items', 'pending', 'pending', 'price_cents = (price * 100)::bigint', 5);
-- A cancelled run is never shown running.
SET statement_timeout = '300ms';
CALL steward.run_transition('e_items', 'pending', 'done', NULL, 1, 2);
RESET statement_timeout;
SELECT status IN ('cancelled', 'interrupted') AS stopped, rows_done < 20 AS partial
  FROM steward.transition_progress WHERE relid = 'e_items'::regclass;

-- checksum_ranges over keys of every kind: same rows, same ranges.
CREATE TYPE e_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE e_keys (u uuid, b bool, y bytea, m e_mood, n numeric, ts timestamptz,
                     t text COLLATE "C", r int4range, c point) USING steward;
INSERT INTO e_keys
SELECT md5(g::text)::uuid, g % 2 = 0, decode(md5(g::text), 'hex'),
       (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::e_mood, g / 7.0,
       timestamptz '2026-01-01' + g * interval '1 hour', 'k' || g, int4range(g, g + 5),
       point(g, g)
  FROM generate_series(1, 300) g;
SELECT col, sum(rows) AS rows, count(*) AS buckets
  FROM unnest(ARRAY['u', 'b', 'y', 'm', 'n', 'ts', 't', 'r', 'c']) col,
       LATERAL steward.checksum_ranges('e_keys', col::name, 8)
 GROUP BY col ORDER BY col;

-- verify: constraints checked exactly as Postgres enforces them.
CREATE TABLE e_subs (id bigint PRIMARY KEY, customer_id bigint NOT NULL, active boolean NOT NULL,
  CONSTRAINT one_active EXCLUDE USING steward_hash (customer_id WITH =) WHERE (active)) USING steward;
INSERT INTO e_subs VALUES (1, 7, false), (2, 7, false), (3, 7, true);
SELECT "check", passed, detail FROM steward.verify('e_subs') WHERE "check" NOT IN ('checksum', 'heap');
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS btree_gist;
RESET client_min_messages;
CREATE TABLE e_more (id int PRIMARY KEY, email text, deleted boolean NOT NULL DEFAULT false,
                     a int, b int, room int, during tstzrange) USING steward;
ALTER TABLE e_more ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);
CREATE UNIQUE INDEX e_more_email ON e_more (lower(email)) WHERE NOT deleted;
CREATE UNIQUE INDEX e_more_ab ON e_more (a, b) NULLS NOT DISTINCT;
INSERT INTO e_more (id, email, deleted, a, b, room, during) VALUES
  (1, 'X@example.com', true, 1, NULL, 1, '[2026-01-01,2026-01-02)'),
  (2, 'x@example.com', false, 1, 2, 1, '[2026-01-02,2026-01-03)'),
  (3, 'y@example.com', false, NULL, NULL, 2, '[2026-01-01,2026-01-03)'),
  (4, 'z@example.com', false, 2, NULL, 1, '[2026-01-03,2026-01-04)');
SELECT "check", passed, detail FROM steward.verify('e_more')
 WHERE "check" NOT IN ('checksum', 'heap', 'row_count') ORDER BY 1;
-- And each check finds real violations: rows slipped in while the
-- table's indexes were switched off (the classic way to simulate damage).
UPDATE pg_class SET relhasindex = false WHERE oid = 'e_more'::regclass;
INSERT INTO e_more (id, email, deleted, a, b, room, during) VALUES
  (6, 'X@EXAMPLE.COM', false, 2, NULL, 1, '[2026-01-02 12:00,2026-01-05)');
UPDATE pg_class SET relhasindex = true WHERE oid = 'e_more'::regclass;
SELECT "check", passed, detail FROM steward.verify('e_more')
 WHERE "check" NOT IN ('checksum', 'heap', 'row_count') ORDER BY 1;
DELETE FROM e_more WHERE id = 6;
-- An INVALID index left by a failed CREATE INDEX CONCURRENTLY: reported, not a false alarm.
CREATE TABLE e_dup (id int, v int) USING steward;
INSERT INTO e_dup VALUES (1, 1), (2, 1);
CREATE UNIQUE INDEX CONCURRENTLY e_dup_v ON e_dup (v);
SELECT "check", passed, detail FROM steward.verify('e_dup') WHERE "check" LIKE 'unique%';
-- Foreign keys: MATCH FULL takes a key of all NULLs as no reference (it
-- refuses only partly-NULL ones); NOT VALID keys are not checked.
CREATE TABLE e_parent (a int, b int, PRIMARY KEY (a, b)) USING steward;
INSERT INTO e_parent VALUES (1, 1);
CREATE TABLE e_child (id int, a int, b int,
  CONSTRAINT e_full FOREIGN KEY (a, b) REFERENCES e_parent MATCH FULL) USING steward;
INSERT INTO e_child VALUES (1, 1, 1), (2, NULL, NULL);
CREATE TABLE e_child2 (id int, a int, b int) USING steward;
INSERT INTO e_child2 VALUES (1, 5, 5);
ALTER TABLE e_child2 ADD CONSTRAINT e_nv FOREIGN KEY (a, b) REFERENCES e_parent NOT VALID;
SELECT "check", passed, detail FROM steward.verify('e_child') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('e_child2') WHERE "check" LIKE 'foreign%';

-- steward_hash on a partitioned table: verify each partition.
CREATE TABLE e_part (tenant int NOT NULL, k text NOT NULL) PARTITION BY LIST (tenant);
CREATE TABLE e_part_1 PARTITION OF e_part FOR VALUES IN (1) USING steward;
CREATE TABLE e_part_2 PARTITION OF e_part FOR VALUES IN (2) USING steward;
CREATE INDEX e_part_k ON e_part USING steward_hash (k);
INSERT INTO e_part SELECT 1 + g % 2, 'k' || g FROM generate_series(1, 100) g;
SELECT "check", passed FROM steward.verify('e_part_1') WHERE "check" LIKE 'index%';

-- Bad arguments: clear errors, never XX000.
SELECT * FROM steward.verify(0);
SELECT * FROM steward.verify(NULL);
CREATE VIEW e_view AS SELECT 1 AS x;
SELECT * FROM steward.verify('e_view');
SELECT * FROM steward.checksum_ranges('e_users', 'nope', 4);
SELECT * FROM steward.checksum_ranges('e_users', 'id', 0);
-- A system column is not a key (it said column "ctid" does not exist).
SELECT * FROM steward.checksum_ranges('e_users', 'ctid', 4);
SELECT * FROM steward.checksum_ranges('e_users', 'xmin', 4);
-- The core page tools with an OID that names nothing: 42P01 (was XX000).
SELECT * FROM steward.verify_heap(0);
SELECT * FROM steward.pgstattuple(0);
SELECT * FROM steward.pgstattuple_approx(0);
SELECT * FROM steward.verify_heap(4294967295);
SELECT * FROM steward.pgstattuple(4294967295);
SELECT * FROM steward.pgstattuple_approx(4294967295);
SELECT * FROM steward.verify_heap(NULL);

DROP TABLE e_users, e_items, e_keys, e_subs, e_more, e_dup, e_child, e_child2, e_parent, e_part;
DROP EXTENSION btree_gist;
DROP VIEW e_view;
DROP TYPE e_mood;
SELECT steward.drop_state_machine('e_mig');

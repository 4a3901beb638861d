-- steward_hash operator classes for every type core hash indexes, with core
-- hash's equality semantics: for every type, every probe finds through a
-- steward_hash index exactly the rows a sequential scan and a core hash
-- index find, and EXCLUDE refuses exactly the values "=" calls equal.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);

-- probe(type, values): load the values (each twice, so duplicates are
-- found twice), then count every value through a seq scan, a core hash
-- index and a steward_hash index.  Returns the probes whose counts differ.
CREATE FUNCTION probe(typ text, vals text[])
RETURNS TABLE (type text, probes int, mismatches int, steward_plan boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v text;
    n_seq bigint;
    n_core bigint;
    n_st bigint;
    plan text;
BEGIN
    type := typ; probes := 0; mismatches := 0; steward_plan := true;
    EXECUTE format('DROP TABLE IF EXISTS p_core, p_st');
    EXECUTE format('CREATE TABLE p_core (k %s)', typ);
    EXECUTE format('CREATE TABLE p_st (k %s) USING steward', typ);
    FOREACH v IN ARRAY vals LOOP
        EXECUTE format('INSERT INTO p_core VALUES ($1::%s), ($1::%s)', typ, typ) USING v;
        EXECUTE format('INSERT INTO p_st VALUES ($1::%s), ($1::%s)', typ, typ) USING v;
    END LOOP;
    CREATE INDEX ON p_core USING hash (k);
    CREATE INDEX p_st_k ON p_st USING steward_hash (k);
    ANALYZE p_core; ANALYZE p_st;
    FOREACH v IN ARRAY vals LOOP
        probes := probes + 1;
        SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off;
        SET LOCAL enable_seqscan = on;
        EXECUTE format('SELECT count(*) FROM p_core WHERE k = $1::%s', typ) INTO n_seq USING v;
        SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = off;
        EXECUTE format('SELECT count(*) FROM p_core WHERE k = $1::%s', typ) INTO n_core USING v;
        EXECUTE format('SELECT count(*) FROM p_st WHERE k = $1::%s', typ) INTO n_st USING v;
        EXECUTE format('EXPLAIN (COSTS OFF) SELECT count(*) FROM p_st WHERE k = %L::%s', v, typ)
            INTO plan;
        plan := '';
        FOR plan IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT count(*) FROM p_st WHERE k = %L::%s', v, typ) LOOP
            EXIT WHEN plan LIKE '%p_st_k%';
        END LOOP;
        steward_plan := steward_plan AND plan LIKE '%p_st_k%';
        IF n_seq <> n_core OR n_seq <> n_st OR n_seq < 2 THEN
            mismatches := mismatches + 1;
            RAISE NOTICE '% %: seq % core % steward_hash %', typ, v, n_seq, n_core, n_st;
        END IF;
        RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_seqscan;
    END LOOP;
    RETURN NEXT;
END
$$;

SELECT * FROM probe('bpchar(5)', ARRAY['a', 'a  ', 'b', '', ' a']);
SELECT * FROM probe('"char"', ARRAY['a', 'b', 'z']);
-- The planner rewrites "k = true" to "k", which it matches only to core's own
-- boolean index families, so bool probes run as scans (steward_plan f);
-- EXCLUDE constraints on bool use the class (below).
SELECT * FROM probe('bool', ARRAY['true', 'false']);
SELECT * FROM probe('name', ARRAY['alpha', 'beta', '']);
SELECT * FROM probe('float4', ARRAY['0', '-0', 'NaN', 'Infinity', '-Infinity', '1.5', '1e-40']);
SELECT * FROM probe('float8', ARRAY['0', '-0', 'NaN', 'Infinity', '-Infinity', '1.5', '1e-310']);
SELECT * FROM probe('interval', ARRAY['1 day', '24 hours', '1 mon', '30 days', '0', '-1 day']);
SELECT * FROM probe('time', ARRAY['00:00', '12:34:56.789', '24:00']);
SELECT * FROM probe('timetz', ARRAY['00:00+00', '01:00+01', '12:00-03']);
SELECT * FROM probe('oid', ARRAY['0', '1', '4294967295']);
SELECT * FROM probe('xid', ARRAY['0', '3', '4294967295']);
SELECT * FROM probe('xid8', ARRAY['0', '3', '18446744073709551615']);
SELECT * FROM probe('pg_lsn', ARRAY['0/0', '1/ABCDEF', 'FFFFFFFF/FFFFFFFF']);
SELECT * FROM probe('inet', ARRAY['10.0.0.1', '10.0.0.1/32', '10.0.0.1/8', '::1', '::ffff:10.0.0.1']);
SELECT * FROM probe('cidr', ARRAY['10.0.0.0/8', '10.0.0.0/16', '::/0']);
SELECT * FROM probe('macaddr', ARRAY['08:00:2b:01:02:03', '08-00-2B-01-02-03', '00:00:00:00:00:00']);
SELECT * FROM probe('macaddr8', ARRAY['08:00:2b:01:02:03:04:05', '08:00:2b:ff:fe:01:02:03']);
SELECT * FROM probe('jsonb', ARRAY['{"a": 1, "b": 2}', '{"b": 2, "a": 1}', '[1, 2]', '1.0', '1', 'null']);
SELECT * FROM probe('mood', ARRAY['sad', 'ok', 'happy']);
SELECT * FROM probe('int[]', ARRAY['{1,2}', '{2,1}', '{}', '{NULL}', '{{1,2},{3,4}}']);
SELECT * FROM probe('text[]', ARRAY['{a,b}', '{"a b"}', '{}']);
SELECT * FROM probe('numeric[]', ARRAY['{1.0}', '{1.00}', '{2}']);
SELECT * FROM probe('int4range', ARRAY['[1,5)', '[1,4]', 'empty', '(,)', '[3,3]']);
SELECT * FROM probe('tstzrange', ARRAY['[2024-01-01,2024-02-01)', 'empty']);
SELECT * FROM probe('int4multirange', ARRAY['{[1,3),[5,7)}', '{[1,2],[5,6]}', '{}']);
SELECT * FROM probe('pair', ARRAY['(1,a)', '(1,b)', '(,)']);
-- the classes 0.1 already had, on the same footing
SELECT * FROM probe('numeric', ARRAY['1', '1.0', '1.00', 'NaN', '-0', '0']);
SELECT * FROM probe('text', ARRAY['a', 'A', '', 'é']);
-- A nondeterministic collation: equal under it, equal in the index.
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT * FROM probe('text COLLATE ci', ARRAY['a', 'A', 'Straße', 'STRASSE', 'é', 'É']);
SELECT * FROM probe('varchar(3)', ARRAY['a', 'ab']);
SELECT * FROM probe('timestamptz', ARRAY['2024-01-01 00:00+00', '2024-01-01 01:00+01']);

-- Cross-type comparisons within a family use the index.
CREATE TABLE f8 (k float8) USING steward;
INSERT INTO f8 SELECT g / 2.0 FROM generate_series(1, 100) g;
CREATE INDEX f8_k ON f8 USING steward_hash (k);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM f8 WHERE k = 1.5::float4;
SELECT * FROM f8 WHERE k = 1.5::float4;
CREATE TABLE nm (k name) USING steward;
INSERT INTO nm SELECT 'n' || g FROM generate_series(1, 100) g;
CREATE INDEX nm_k ON nm USING steward_hash (k);
EXPLAIN (COSTS OFF) SELECT * FROM nm WHERE k = 'n7'::text;
SELECT * FROM nm WHERE k = 'n7'::text;
RESET enable_seqscan;

-- EXCLUDE refuses exactly what "=" calls equal: 23P01 for each pair.
CREATE TABLE ex (i interval, f float8, c char(4), j jsonb, r int4range, b bool) USING steward;
ALTER TABLE ex ADD CONSTRAINT ex_i EXCLUDE USING steward_hash (i WITH =),
               ADD CONSTRAINT ex_f EXCLUDE USING steward_hash (f WITH =),
               ADD CONSTRAINT ex_c EXCLUDE USING steward_hash (c WITH =),
               ADD CONSTRAINT ex_j EXCLUDE USING steward_hash (j WITH =),
               ADD CONSTRAINT ex_r EXCLUDE USING steward_hash (r WITH =),
               ADD CONSTRAINT ex_b EXCLUDE USING steward_hash (b WITH =);
\set VERBOSITY sqlstate
INSERT INTO ex VALUES ('1 day', 0, 'ab', '{"a":1,"b":2}', '[1,5)', true);
INSERT INTO ex (i) VALUES ('24 hours');
INSERT INTO ex (f) VALUES ('-0');
INSERT INTO ex (c) VALUES ('ab  ');
INSERT INTO ex (j) VALUES ('{"b":2,"a":1}');
INSERT INTO ex (r) VALUES ('[1,4]');
INSERT INTO ex (b) VALUES (true);
INSERT INTO ex (b) VALUES (false);
INSERT INTO ex (f) VALUES ('NaN');
INSERT INTO ex (f) VALUES ('NaN');
\set VERBOSITY default
SELECT count(*) FROM ex;

-- A type without hash support is refused the way core hash refuses it.
CREATE TABLE nohash (p point[]);
INSERT INTO nohash VALUES (ARRAY[point(1,2)]);
CREATE INDEX ON nohash USING steward_hash (p);
CREATE INDEX ON nohash USING hash (p);

-- Every class passes the access method's validator.
SELECT oc.opcname, pg_catalog.amvalidate(oc.oid)
  FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
 WHERE am.amname = 'steward_hash' AND NOT pg_catalog.amvalidate(oc.oid);
SELECT count(*) AS steward_hash_classes
  FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
 WHERE am.amname = 'steward_hash';

DROP TABLE p_core, p_st, f8, nm, ex, nohash;
DROP FUNCTION probe(text, text[]);
DROP TYPE pair;
DROP TYPE mood;
DROP COLLATION ci;

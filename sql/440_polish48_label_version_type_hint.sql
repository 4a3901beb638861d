-- newcomer48 N11: a SECURITY LABEL carrying a version rule on a column
-- that is not bigint was refused with 42804 and neither DETAIL nor HINT,
-- while steward.track_versions (9033f24) names the column's type and the
-- statements that change it.  The label is now refused by the same C
-- check, with the same DETAIL and HINT; the HINT's statement, run as
-- given, lets the label through.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA p440;
CREATE TABLE p440."Acct's" (id bigint PRIMARY KEY, "Lock Version" integer NOT NULL DEFAULT 1) USING steward;
INSERT INTO p440."Acct's" SELECT g, 1 FROM generate_series(1, 3) g;
CREATE TABLE p440.nokey (id bigint, v numeric NOT NULL DEFAULT 1) USING steward;
-- The label and the API give the same error.
\set VERBOSITY default
SECURITY LABEL FOR steward ON COLUMN p440."Acct's"."Lock Version" IS '{"v": 1, "kind": "version"}';
SELECT steward.track_versions('p440."Acct''s"', 'Lock Version');
SECURITY LABEL FOR steward ON COLUMN p440.nokey.v IS '{"v": 1, "kind": "version"}';
-- The HINT's ALTER TABLE, run as given, then the label passes.
CREATE FUNCTION p440.hinted(tbl text, col text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE format('SECURITY LABEL FOR steward ON COLUMN %s.%I IS %L', tbl, col, '{"v": 1, "kind": "version"}');
    RETURN NULL;
EXCEPTION WHEN datatype_mismatch THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN substring(h from '(ALTER TABLE .*;)$');
END
$$;
SELECT p440.hinted('p440.nokey', 'v') \gexec
SECURITY LABEL FOR steward ON COLUMN p440.nokey.v IS '{"v": 1, "kind": "version"}';
SELECT attname, kind FROM steward.column_rules WHERE relid = 'p440.nokey'::regclass;
-- The C check is not PUBLIC's to call.
CREATE ROLE p440_stranger;
SET ROLE p440_stranger;
SELECT steward._check_version_type('pg_class', 'relname');
RESET ROLE;
DROP ROLE p440_stranger;
DROP SCHEMA p440 CASCADE;

-- review18 F2 (verify5): the internal steward._label_rows_stored (revoked
-- from PUBLIC) raised XX000 "cache lookup failed for relation 0" when a
-- superuser passed an OID naming no relation.  Now 42P01.  Then every
-- steward function taking a regclass or an oid is called with OIDs naming
-- nothing (0, a dropped table's), one argument at a time, the others a
-- real table or plain values, each call rolled back: none may raise an
-- internal error (XX...) or an I/O one (58...).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward._label_rows_stored(0::oid::regclass);
\set VERBOSITY sqlstate
SELECT steward._label_rows_stored(1::oid::regclass);
CREATE TABLE r178_gone (a int);
SELECT 'r178_gone'::regclass::oid AS r178_gone \gset
DROP TABLE r178_gone;
SELECT steward._label_rows_stored(:r178_gone::oid::regclass);
\set VERBOSITY default
-- What it answers for relations that exist is unchanged.
CREATE TABLE r178_t (id int PRIMARY KEY, k text) USING steward;
CREATE VIEW r178_v AS SELECT 1 AS a;
SELECT steward._label_rows_stored('r178_t') AS empty_table,
       steward._label_rows_stored('r178_v') AS a_view;
INSERT INTO r178_t VALUES (1, 'a');
SELECT steward._label_rows_stored('r178_t') AS table_with_a_row;

-- The sweep.
CREATE FUNCTION pg_temp.r178_sweep(bad oid) RETURNS TABLE (call text, state text)
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    q text;
    st text;
BEGIN
    FOR f IN SELECT p.oid, p.proname, p.prokind, p.proargtypes::oid[] AS t, p.pronargs, i
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                    generate_subscripts(p.proargtypes::oid[], 1) i
              WHERE n.nspname = 'steward'
                AND (p.proargtypes::oid[])[i] IN ('regclass'::regtype, 'oid'::regtype)
              ORDER BY p.proname, p.oid, i LOOP
        q := CASE WHEN f.prokind = 'p' THEN 'CALL ' ELSE 'SELECT * FROM ' END
             || 'steward.' || quote_ident(f.proname) || '('
             || (SELECT string_agg(CASE WHEN j = f.i THEN format('%L::%s', bad, format_type(f.t[j], NULL))
                                        ELSE CASE format_type(f.t[j], NULL)
                                             WHEN 'regclass' THEN '''r178_t''::regclass'
                                             WHEN 'oid' THEN '''r178_t''::regclass::oid'
                                             WHEN 'text' THEN '''x'''
                                             WHEN 'name' THEN '''x''::name'
                                             WHEN 'integer' THEN '1'
                                             WHEN 'smallint' THEN '1::smallint'
                                             WHEN 'bigint' THEN '1::bigint'
                                             WHEN 'boolean' THEN 'false'
                                             WHEN 'jsonb' THEN '''{}''::jsonb'
                                             WHEN 'interval' THEN '''1 day''::interval'
                                             WHEN 'regrole' THEN 'current_user::regrole'
                                             WHEN '"char"' THEN '''r''::"char"'
                                             WHEN 'int2vector' THEN '''1''::int2vector'
                                             ELSE format('NULL::%s', format_type(f.t[j], NULL)) END
                                   END, ', ' ORDER BY j)
                   FROM generate_series(0, f.pronargs - 1) j)
             || ')';
        BEGIN
            EXECUTE q;
            RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
            IF st LIKE 'XX%' OR st LIKE '58%' THEN
                call := regexp_replace(q, '''\d+''', '<oid>');
                state := st;
                RETURN NEXT;
            END IF;
        END;
    END LOOP;
END
$$;
SET lock_timeout = '10s';
SELECT * FROM pg_temp.r178_sweep(0);
SELECT * FROM pg_temp.r178_sweep(:r178_gone);
RESET lock_timeout;
DROP VIEW r178_v;
DROP TABLE r178_t;

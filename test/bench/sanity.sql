-- Before measuring anything: check that the steward and the trigger variant
-- enforce the same version rules (otherwise the comparison is meaningless).
-- Everything runs in a transaction that is rolled back.
\set ON_ERROR_STOP on
\set QUIET on
BEGIN;

-- Run one statement; return its SQLSTATE, or 'ok'.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

CREATE FUNCTION pg_temp.check_rules(s text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := format('%I.orders', s);
    got text;
    v bigint;
    -- statement, expected SQLSTATE, expected stored version afterwards
    steps text[][] := ARRAY[
        ['INSERT INTO %s VALUES (-1, 1, ''new'', now(), 0, DEFAULT)',          'ok',    '1'],
        ['UPDATE %s SET status = ''paid'' WHERE order_id = -1',               'ok',    '2'],
        ['UPDATE %s SET status = ''a'', version = 2 WHERE order_id = -1',     'ok',    '3'],
        ['UPDATE %s SET status = ''b'', version = 4 WHERE order_id = -1',     'ok',    '4'],
        ['UPDATE %s SET version = version + 1 WHERE order_id = -1',           'ok',    '5'],
        ['UPDATE %s SET version = 3 WHERE order_id = -1',                     '40001', '5'],
        ['UPDATE %s SET version = 7 WHERE order_id = -1',                     '22023', '5'],
        ['INSERT INTO %s VALUES (-2, 1, ''new'', now(), 0, 0)',               '22023', NULL]];
BEGIN
    FOR i IN 1 .. array_length(steps, 1) LOOP
        got := pg_temp.try(format(steps[i][1], t));
        EXECUTE format('SELECT version FROM %s WHERE order_id = -1', t) INTO v;
        IF got <> steps[i][2] OR (steps[i][3] IS NOT NULL AND v IS DISTINCT FROM steps[i][3]::bigint) THEN
            RAISE EXCEPTION '%: "%" gave % and version %, expected % and version %',
                  s, format(steps[i][1], t), got, v, steps[i][2], steps[i][3];
        END IF;
    END LOOP;
END
$$;

DO $$ BEGIN PERFORM pg_temp.check_rules('stew'); PERFORM pg_temp.check_rules('trig'); END $$;
ROLLBACK;
\echo version rules: steward and trigger variants agree

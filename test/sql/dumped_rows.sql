-- Included by regress tests (\i, from the repository root): pg_temp.dumped(tab, what),
-- what pg_dump copies of a configuration table of pg_steward: the rows its
-- dump condition selects, under pg_dump's empty search_path.
CREATE FUNCTION pg_temp.dumped(tab regclass, what text) RETURNS SETOF text
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
    cond text;
BEGIN
    SELECT u.cond INTO STRICT cond
      FROM pg_catalog.pg_extension e, unnest(e.extconfig, e.extcondition) u(rel, cond)
     WHERE e.extname = 'pg_steward' AND u.rel = tab;
    RETURN QUERY EXECUTE format('SELECT %s FROM ONLY %s %s ORDER BY 1', what, tab, cond);
END
$$;

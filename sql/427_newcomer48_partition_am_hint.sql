-- A partitioned table given a rule while several of its partitions are
-- heap tables: the 42809 HINT named only the first partition, so a user
-- following it met the same error once per partition (newcomer48 N1).
-- The HINT now gives the ALTER TABLE of every such partition (up to ten;
-- past ten, a query whose rows are those statements), and the DETAIL
-- counts them.  Checked: the HINT's statements, run as given, are enough
-- for the rule to be declared at the next try.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA n427;
-- The HINT of the call, as one text.
CREATE FUNCTION n427.hint_of(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE call;
    RETURN NULL;
EXCEPTION WHEN wrong_object_type THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END
$$;
-- Its ALTER TABLE statements: those it gives, or the rows of its query.
CREATE FUNCTION n427.statements(call text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    h text := n427.hint_of(call);
BEGIN
    IF h LIKE '%rows of: %' THEN
        RETURN QUERY EXECUTE substr(h, strpos(h, 'rows of: ') + length('rows of: '));
    ELSE
        RETURN QUERY SELECT m[1] FROM regexp_matches(h, '(ALTER TABLE [^;]*;)', 'g') m;
    END IF;
END
$$;

-- One heap partition among three, one steward: named as before.
CREATE TABLE n427.one (id int, v bigint) PARTITION BY HASH (id);
CREATE TABLE n427.one0 PARTITION OF n427.one FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE n427.one1 PARTITION OF n427.one FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING heap;
SELECT steward.track_versions('n427.one', 'v');

-- Two heap partitions (one with a name to quote), in two levels: both named.
CREATE TABLE n427.two (id int, k int, v bigint) PARTITION BY LIST (k);
CREATE TABLE n427.two_a PARTITION OF n427.two FOR VALUES IN (1) USING heap;
CREATE TABLE n427.two_b PARTITION OF n427.two FOR VALUES IN (2) PARTITION BY HASH (id);
CREATE TABLE n427."Two b0" PARTITION OF n427.two_b FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING heap;
CREATE TABLE n427.two_b1 PARTITION OF n427.two_b FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
SELECT steward.track_versions('n427.two', 'v');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM n427.statements($$SELECT steward.track_versions('n427.two', 'v')$$) \gexec
SELECT steward.track_versions('n427.two', 'v');
SELECT c.relname, a.amname FROM pg_partition_tree('n427.two') t
  JOIN pg_class c ON c.oid = t.relid LEFT JOIN pg_am a ON a.oid = c.relam
 ORDER BY c.relname COLLATE "C";

-- Twelve heap partitions: the HINT gives a query, whose rows convert all.
CREATE TABLE n427.many (id int, status text NOT NULL DEFAULT 'new') PARTITION BY HASH (id);
SELECT format('CREATE TABLE n427.many%s PARTITION OF n427.many FOR VALUES WITH (MODULUS 12, REMAINDER %s) USING heap', g, g)
  FROM generate_series(0, 11) g \gexec
SELECT steward.create_state_machine('n427_m', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
SELECT steward.attach_state_machine('n427.many', 'status', 'n427_m');
SELECT count(*) FROM n427.statements($$SELECT steward.attach_state_machine('n427.many', 'status', 'n427_m')$$);
SELECT * FROM n427.statements($$SELECT steward.attach_state_machine('n427.many', 'status', 'n427_m')$$) \gexec
SELECT steward.attach_state_machine('n427.many', 'status', 'n427_m');
SELECT count(*) FILTER (WHERE a.amname = 'steward') AS steward_partitions,
       count(*) FILTER (WHERE a.amname <> 'steward') AS other
  FROM pg_partition_tree('n427.many') t
  JOIN pg_class c ON c.oid = t.relid JOIN pg_am a ON a.oid = c.relam;
INSERT INTO n427.many (id) SELECT g FROM generate_series(1, 24) g;
UPDATE n427.many SET status = 'new' || '' WHERE id = 1;
UPDATE n427.many SET status = 'gone' WHERE id = 1;

SELECT steward.detach_state_machine('n427.many', 'status');
SELECT steward.drop_state_machine('n427_m');
SELECT steward.untrack('n427.two', 'v');
DROP SCHEMA n427 CASCADE;

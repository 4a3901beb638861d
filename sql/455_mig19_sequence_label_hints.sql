-- A sequence rule on a column that is no integer was refused without a
-- next step: a SECURITY LABEL's (what pg_restore applies) with neither
-- DETAIL nor HINT, track_sequence's with a HINT that named no statement
-- (mig19; the version rule's got both in newcomer48 N11).  Both now give
-- the column's type and a HINT whose statements run as given: a column
-- PostgreSQL assigns to bigint changes type (online, with a column
-- migration, as track_versions' HINT says), another (a timestamp) gets a
-- bigint column for its sequence number, tracked.  A label on a sequence
-- (or a whole table) is refused with a HINT naming the column's rule.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA s455;
-- The statements of the HINT of a refused sequence rule.
CREATE FUNCTION s455.hint_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE stmt;
    RETURN NULL;
EXCEPTION WHEN datatype_mismatch THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END
$$;

CREATE TABLE s455.events (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), n numeric) USING steward;
INSERT INTO s455.events (id, n) VALUES (1, 1), (2, 5);
-- A timestamp: track_sequence and the label give the same DETAIL and HINT.
SELECT steward.track_sequence('s455.events', 'at');
SECURITY LABEL FOR steward ON COLUMN s455.events.at IS '{"v": 1, "kind": "sequence"}';
-- Its statements, as given: a bigint column, tracked.
SELECT regexp_replace(regexp_replace(s455.hint_of($$SECURITY LABEL FOR steward ON COLUMN s455.events.at IS '{"v": 1, "kind": "sequence"}'$$),
                                     '^[^:]*: ', ''), '; then ', '; ') \gexec
SELECT relid, attname, kind FROM steward.column_rules WHERE relid = 's455.events'::regclass;

-- A numeric column: its type changed; the label then applies.
SECURITY LABEL FOR steward ON COLUMN s455.events.n IS '{"v": 1, "kind": "sequence"}';
SELECT substring(s455.hint_of($$SECURITY LABEL FOR steward ON COLUMN s455.events.n IS '{"v": 1, "kind": "sequence"}'$$)
                 from '(ALTER TABLE .*;)$') \gexec
SECURITY LABEL FOR steward ON COLUMN s455.events.n IS '{"v": 1, "kind": "sequence"}';
SELECT attname, kind FROM steward.column_rules WHERE relid = 's455.events'::regclass ORDER BY 1;

-- A label on a sequence itself: refused, the HINT names the column's rule.
CREATE SEQUENCE s455.seq;
SECURITY LABEL FOR steward ON SEQUENCE s455.seq IS '{"v": 1, "kind": "sequence"}';
SECURITY LABEL FOR steward ON TABLE s455.events IS '{"v": 1, "kind": "sequence"}';

DROP SCHEMA s455 CASCADE;

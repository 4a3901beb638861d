-- review23 R4: steward._column_rules_changed() read the trigger's tuples
-- before checking the trigger protocol: bound by a superuser as a FOR EACH
-- STATEMENT trigger (tg_trigtuple NULL) it crashed the server.  The
-- catalog triggers now refuse, before reading anything, any call that is
-- not an AFTER ROW trigger of their own catalog (39P01), under origin and
-- replica alike.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r227_lookalike (relid regclass, attname name, changed_at name);
-- 1. A statement trigger: refused, no crash.
CREATE TRIGGER r227_stmt AFTER INSERT ON r227_lookalike
    FOR EACH STATEMENT EXECUTE FUNCTION steward._column_rules_changed();
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
UPDATE r227_lookalike SET attname = 'y';
SET session_replication_role = replica;
ALTER TABLE r227_lookalike ENABLE ALWAYS TRIGGER r227_stmt;
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
RESET session_replication_role;
DROP TRIGGER r227_stmt ON r227_lookalike;
-- 2. A row trigger of another table: refused, nothing read from it.
CREATE TRIGGER r227_row AFTER INSERT OR UPDATE ON r227_lookalike
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_changed();
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
DROP TRIGGER r227_row ON r227_lookalike;
-- 3. A BEFORE row trigger: refused.
CREATE TRIGGER r227_before BEFORE INSERT ON r227_lookalike
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_changed();
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
DROP TRIGGER r227_before ON r227_lookalike;
-- 4. The state checks catalog's trigger: the same.
CREATE TRIGGER r227_checks AFTER INSERT ON r227_lookalike
    FOR EACH STATEMENT EXECUTE FUNCTION steward._state_checks_changed();
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
DROP TRIGGER r227_checks ON r227_lookalike;
CREATE TRIGGER r227_checks_row AFTER INSERT ON r227_lookalike
    FOR EACH ROW EXECUTE FUNCTION steward._state_checks_changed();
INSERT INTO r227_lookalike VALUES ('r227_lookalike', 'x', NULL);
DROP TRIGGER r227_checks_row ON r227_lookalike;
-- 5. Called directly, not as a trigger.
SELECT steward._column_rules_changed();
-- The server is still up and the table holds what was inserted.
SELECT count(*) FROM r227_lookalike;
DROP TABLE r227_lookalike;

-- codereview16 C5: steward._commit() (msg5: the COMMIT of pg_steward's
-- batch procedures, executable by PUBLIC, as those procedures run as their
-- caller) connected to SPI non-atomic whatever its CALL allowed, so a
-- function or a transaction block could reach SPI_commit: any role got
-- XX000 ("portal snapshots (0) did not account for all active snapshots
-- (2)", "InstrStartNode called twice in a row", then a WARNING
-- "AbortTransaction while in ABORT state"), and in a transaction block the
-- CALL returned without committing.  Now it keeps the CALL's atomicity:
-- 2D000 there, as core's COMMIT; a procedure CALLed at top level commits.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE cr16_user;
GRANT CREATE ON SCHEMA public TO cr16_user;
SET ROLE cr16_user;
CREATE TABLE cr16_log (n int);
CREATE FUNCTION cr16_f() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cr16_log VALUES (1);
    CALL steward._commit();
    RETURN 1;
END
$$;
-- From a function: 2D000, nothing kept.
SELECT cr16_f();
SELECT count(*) AS kept FROM cr16_log;
-- In a transaction block: 2D000, not a CALL that returns without a commit.
BEGIN;
INSERT INTO cr16_log VALUES (2);
CALL steward._commit();
ROLLBACK;
SELECT count(*) AS kept FROM cr16_log;
-- A procedure CALLed at top level commits; its later rollback keeps the
-- committed row.
CREATE PROCEDURE cr16_p() LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cr16_log VALUES (3);
    CALL steward._commit();
    INSERT INTO cr16_log VALUES (4);
    ROLLBACK;
END
$$;
CALL cr16_p();
SELECT n FROM cr16_log ORDER BY n;
DROP PROCEDURE cr16_p();
DROP FUNCTION cr16_f();
DROP TABLE cr16_log;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM cr16_user;
DROP ROLE cr16_user;

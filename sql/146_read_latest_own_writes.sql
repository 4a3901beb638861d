-- The checks that read stored rows or pg_steward's catalog in a snapshot
-- taken now (steward_spi_read_latest) see the transaction's own writes,
-- those of the statement running now included (codereview2 #6): the read
-- was read-only, without a command counter increment, so rows a
-- data-modifying WITH had just written were not seen, and a rule was put
-- on a table holding rows it refuses.
CREATE TABLE r146 (id int PRIMARY KEY, version bigint) USING steward;
INSERT INTO r146 VALUES (1, 5);

-- track_versions in the statement that writes a version below 1: refused
-- (it was accepted, the rule then in force over version 0).
WITH w AS (INSERT INTO r146 VALUES (2, 0) RETURNING id)
SELECT steward.track_versions('r146', 'version') FROM w;
SELECT count(*) AS version_rules FROM steward.column_rules WHERE relid = 'r146'::regclass;
-- An UPDATE in the same statement is seen too.
WITH w AS (UPDATE r146 SET version = -1 WHERE id = 1 RETURNING id)
SELECT steward.track_versions('r146', 'version') FROM w;
SELECT count(*) AS version_rules FROM steward.column_rules WHERE relid = 'r146'::regclass;
-- And a fix in the same statement is accepted (it was refused: the check
-- saw the row as it was before the statement).
INSERT INTO r146 VALUES (2, 0);
WITH w AS (UPDATE r146 SET version = 1 WHERE version < 1 RETURNING id)
SELECT steward.track_versions('r146', 'version') FROM (SELECT count(*) FROM w) c;
SELECT id, version FROM r146 ORDER BY id;
SELECT kind FROM steward.column_rules WHERE relid = 'r146'::regclass;
DROP TABLE r146;

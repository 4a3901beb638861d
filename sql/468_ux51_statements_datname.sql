-- steward.statements names each entry's database (datname, the last column)
-- so a DBA need not join pg_database on dbid.
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid = 'steward.statements'::regclass AND attnum > 0
   AND attnum = (SELECT max(attnum) FROM pg_attribute
                  WHERE attrelid = 'steward.statements'::regclass);
SELECT 468 AS marker;
SELECT count(*) > 0 AS has_rows,
       bool_and(s.datname IS NOT DISTINCT FROM d.datname) AS datname_matches
  FROM steward.statements s LEFT JOIN pg_database d ON d.oid = s.dbid;
SELECT count(*) > 0 AS this_database_named
  FROM steward.statements WHERE datname = current_database() AND dbid =
       (SELECT oid FROM pg_database WHERE datname = current_database());

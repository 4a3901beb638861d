--------------------------------------------------------------------------
-- Core page-level tools for steward tables (src/tableam/heapcheck.c;
-- issue 12 item 7).  amcheck's verify_heapam and pgstattuple refuse tables
-- whose access method is not heap, and pg_amcheck skips them; steward
-- tables are heap pages, so these call the contrib modules' own functions
-- with the table presented as heap.  Arguments and result columns are
-- those of the contrib functions.  Like them, not granted to PUBLIC.
--------------------------------------------------------------------------

CREATE FUNCTION steward.verify_heap(tbl regclass,
                                    on_error_stop boolean DEFAULT false,
                                    check_toast boolean DEFAULT true,
                                    skip text DEFAULT 'none',
                                    startblock bigint DEFAULT NULL,
                                    endblock bigint DEFAULT NULL,
                                    OUT blkno bigint, OUT offnum integer,
                                    OUT attnum integer, OUT msg text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_verify_heap'
LANGUAGE C;
COMMENT ON FUNCTION steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint) IS
  'amcheck''s verify_heapam for steward tables: one row per corrupted tuple or page (none when healthy)';
REVOKE ALL ON FUNCTION steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint) FROM PUBLIC;

CREATE FUNCTION steward.pgstattuple(tbl regclass,
    OUT table_len bigint, OUT tuple_count bigint, OUT tuple_len bigint,
    OUT tuple_percent float8, OUT dead_tuple_count bigint, OUT dead_tuple_len bigint,
    OUT dead_tuple_percent float8, OUT free_space bigint, OUT free_percent float8)
AS 'MODULE_PATHNAME', 'steward_pgstattuple'
LANGUAGE C STRICT;
COMMENT ON FUNCTION steward.pgstattuple(regclass) IS
  'pgstattuple for steward tables: live and dead tuples and free space, exact';
REVOKE ALL ON FUNCTION steward.pgstattuple(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.pgstattuple(regclass) TO pg_stat_scan_tables;

CREATE FUNCTION steward.pgstattuple_approx(tbl regclass,
    OUT table_len bigint, OUT scanned_percent float8, OUT approx_tuple_count bigint,
    OUT approx_tuple_len bigint, OUT approx_tuple_percent float8,
    OUT dead_tuple_count bigint, OUT dead_tuple_len bigint, OUT dead_tuple_percent float8,
    OUT approx_free_space bigint, OUT approx_free_percent float8)
AS 'MODULE_PATHNAME', 'steward_pgstattuple_approx'
LANGUAGE C STRICT;
COMMENT ON FUNCTION steward.pgstattuple_approx(regclass) IS
  'pgstattuple_approx for steward tables: the same, skipping all-visible pages';
REVOKE ALL ON FUNCTION steward.pgstattuple_approx(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.pgstattuple_approx(regclass) TO pg_stat_scan_tables;

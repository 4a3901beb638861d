--------------------------------------------------------------------------
-- Index access method "steward_hash" (src/hashindex)
--------------------------------------------------------------------------

CREATE FUNCTION steward.steward_hash_handler(internal)
RETURNS index_am_handler
AS 'MODULE_PATHNAME', 'steward_hash_handler'
LANGUAGE C;

CREATE ACCESS METHOD steward_hash TYPE INDEX HANDLER steward.steward_hash_handler;
COMMENT ON ACCESS METHOD steward_hash IS
  'growable multi-column hash index for equality lookups and exclusion constraints';

-- Integers hash alike across widths, so one family serves int2/int4/int8
-- and comparisons between them (an int4 constant against a bigint column).
CREATE OPERATOR FAMILY steward.integer_ops USING steward_hash;
CREATE OPERATOR CLASS steward.int2_ops DEFAULT FOR TYPE int2
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int2, int2),
    FUNCTION 1 pg_catalog.hashint2extended(int2, int8);
CREATE OPERATOR CLASS steward.int4_ops DEFAULT FOR TYPE int4
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int4, int4),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.int8_ops DEFAULT FOR TYPE int8
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int8, int8),
    FUNCTION 1 pg_catalog.hashint8extended(int8, int8);
ALTER OPERATOR FAMILY steward.integer_ops USING steward_hash ADD
    OPERATOR 1 = (int2, int4),
    OPERATOR 1 = (int2, int8),
    OPERATOR 1 = (int4, int2),
    OPERATOR 1 = (int4, int8),
    OPERATOR 1 = (int8, int2),
    OPERATOR 1 = (int8, int4);

CREATE OPERATOR FAMILY steward.text_ops USING steward_hash;
CREATE OPERATOR CLASS steward.text_ops DEFAULT FOR TYPE text
    USING steward_hash FAMILY steward.text_ops AS
    OPERATOR 1 = (text, text),
    FUNCTION 1 pg_catalog.hashtextextended(text, int8);
-- varchar columns use text_ops (binary coercible), as with core hash.

CREATE OPERATOR CLASS steward.bytea_ops DEFAULT FOR TYPE bytea
    USING steward_hash AS
    OPERATOR 1 = (bytea, bytea),
    FUNCTION 1 pg_catalog.hashvarlenaextended(internal, int8);
CREATE OPERATOR CLASS steward.uuid_ops DEFAULT FOR TYPE uuid
    USING steward_hash AS
    OPERATOR 1 = (uuid, uuid),
    FUNCTION 1 pg_catalog.uuid_hash_extended(uuid, int8);
CREATE OPERATOR CLASS steward.numeric_ops DEFAULT FOR TYPE numeric
    USING steward_hash AS
    OPERATOR 1 = (numeric, numeric),
    FUNCTION 1 pg_catalog.hash_numeric_extended(numeric, int8);
CREATE OPERATOR CLASS steward.date_ops DEFAULT FOR TYPE date
    USING steward_hash AS
    OPERATOR 1 = (date, date),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.timestamp_ops DEFAULT FOR TYPE timestamp
    USING steward_hash AS
    OPERATOR 1 = (timestamp, timestamp),
    FUNCTION 1 pg_catalog.timestamp_hash_extended(timestamp, int8);
CREATE OPERATOR CLASS steward.timestamptz_ops DEFAULT FOR TYPE timestamptz
    USING steward_hash AS
    OPERATOR 1 = (timestamptz, timestamptz),
    FUNCTION 1 pg_catalog.timestamp_hash_extended(timestamp, int8);

CREATE FUNCTION steward.verify_index(idx regclass,
    OUT problem text, OUT blkno bigint, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_verify_index'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.verify_index(regclass) IS
  'check a steward_hash index against itself and its table; one row per problem';

CREATE FUNCTION steward.hash_index_stats(idx regclass,
    OUT buckets bigint, OUT pages bigint, OUT overflow_pages bigint,
    OUT free_pages bigint, OUT unused_pages bigint, OUT entries bigint,
    OUT fill double precision, OUT longest_chain bigint,
    OUT entries_per_page bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_hash_index_stats'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.hash_index_stats(regclass) IS
  'buckets, pages by kind, entries and fill of a steward_hash index';


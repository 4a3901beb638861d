--------------------------------------------------------------------------
-- Index access method "steward_hash" (src/steward_hash)
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

-- Every type core hash indexes, with core hash's equality semantics: the
-- support function is the type's own extended hash function, the one core
-- hash uses, so values that "=" calls equal hash alike (interval '1 day'
-- and '24 hours', float8 '-0' and 0, NaN and NaN, bpchar trailing blanks).
-- Polymorphic classes (arrays, ranges, multiranges, enums, records) hash
-- through the element or field types' own hash support.
CREATE OPERATOR CLASS steward.name_ops DEFAULT FOR TYPE name
    USING steward_hash FAMILY steward.text_ops AS
    OPERATOR 1 = (name, name),
    FUNCTION 1 pg_catalog.hashnameextended(name, int8);
ALTER OPERATOR FAMILY steward.text_ops USING steward_hash ADD
    OPERATOR 1 = (name, text),
    OPERATOR 1 = (text, name);
CREATE OPERATOR CLASS steward.bpchar_ops DEFAULT FOR TYPE bpchar
    USING steward_hash AS
    OPERATOR 1 = (bpchar, bpchar),
    FUNCTION 1 pg_catalog.hashbpcharextended(bpchar, int8);
CREATE OPERATOR CLASS steward.char_ops DEFAULT FOR TYPE "char"
    USING steward_hash AS
    OPERATOR 1 = ("char", "char"),
    FUNCTION 1 pg_catalog.hashcharextended("char", int8);
CREATE OPERATOR CLASS steward.bool_ops DEFAULT FOR TYPE bool
    USING steward_hash AS
    OPERATOR 1 = (bool, bool),
    FUNCTION 1 pg_catalog.hashcharextended("char", int8);
-- float4 hashes as float8, so one family serves both and their comparisons.
CREATE OPERATOR FAMILY steward.float_ops USING steward_hash;
CREATE OPERATOR CLASS steward.float4_ops DEFAULT FOR TYPE float4
    USING steward_hash FAMILY steward.float_ops AS
    OPERATOR 1 = (float4, float4),
    FUNCTION 1 pg_catalog.hashfloat4extended(float4, int8);
CREATE OPERATOR CLASS steward.float8_ops DEFAULT FOR TYPE float8
    USING steward_hash FAMILY steward.float_ops AS
    OPERATOR 1 = (float8, float8),
    FUNCTION 1 pg_catalog.hashfloat8extended(float8, int8);
ALTER OPERATOR FAMILY steward.float_ops USING steward_hash ADD
    OPERATOR 1 = (float4, float8),
    OPERATOR 1 = (float8, float4);
CREATE OPERATOR CLASS steward.interval_ops DEFAULT FOR TYPE interval
    USING steward_hash AS
    OPERATOR 1 = (interval, interval),
    FUNCTION 1 pg_catalog.interval_hash_extended(interval, int8);
CREATE OPERATOR CLASS steward.time_ops DEFAULT FOR TYPE time
    USING steward_hash AS
    OPERATOR 1 = (time, time),
    FUNCTION 1 pg_catalog.time_hash_extended(time, int8);
CREATE OPERATOR CLASS steward.timetz_ops DEFAULT FOR TYPE timetz
    USING steward_hash AS
    OPERATOR 1 = (timetz, timetz),
    FUNCTION 1 pg_catalog.timetz_hash_extended(timetz, int8);
CREATE OPERATOR CLASS steward.oid_ops DEFAULT FOR TYPE oid
    USING steward_hash AS
    OPERATOR 1 = (oid, oid),
    FUNCTION 1 pg_catalog.hashoidextended(oid, int8);
CREATE OPERATOR CLASS steward.xid_ops DEFAULT FOR TYPE xid
    USING steward_hash AS
    OPERATOR 1 = (xid, xid),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.xid8_ops DEFAULT FOR TYPE xid8
    USING steward_hash AS
    OPERATOR 1 = (xid8, xid8),
    FUNCTION 1 pg_catalog.hashint8extended(int8, int8);
CREATE OPERATOR CLASS steward.pg_lsn_ops DEFAULT FOR TYPE pg_lsn
    USING steward_hash AS
    OPERATOR 1 = (pg_lsn, pg_lsn),
    FUNCTION 1 pg_catalog.pg_lsn_hash_extended(pg_lsn, int8);
-- cidr columns use this class: cidr is binary coercible to inet.
CREATE OPERATOR CLASS steward.inet_ops DEFAULT FOR TYPE inet
    USING steward_hash AS
    OPERATOR 1 = (inet, inet),
    FUNCTION 1 pg_catalog.hashinetextended(inet, int8);
CREATE OPERATOR CLASS steward.macaddr_ops DEFAULT FOR TYPE macaddr
    USING steward_hash AS
    OPERATOR 1 = (macaddr, macaddr),
    FUNCTION 1 pg_catalog.hashmacaddrextended(macaddr, int8);
CREATE OPERATOR CLASS steward.macaddr8_ops DEFAULT FOR TYPE macaddr8
    USING steward_hash AS
    OPERATOR 1 = (macaddr8, macaddr8),
    FUNCTION 1 pg_catalog.hashmacaddr8extended(macaddr8, int8);
CREATE OPERATOR CLASS steward.jsonb_ops DEFAULT FOR TYPE jsonb
    USING steward_hash AS
    OPERATOR 1 = (jsonb, jsonb),
    FUNCTION 1 pg_catalog.jsonb_hash_extended(jsonb, int8);
CREATE OPERATOR CLASS steward.enum_ops DEFAULT FOR TYPE anyenum
    USING steward_hash AS
    OPERATOR 1 = (anyenum, anyenum),
    FUNCTION 1 pg_catalog.hashenumextended(anyenum, int8);
CREATE OPERATOR CLASS steward.array_ops DEFAULT FOR TYPE anyarray
    USING steward_hash AS
    OPERATOR 1 = (anyarray, anyarray),
    FUNCTION 1 pg_catalog.hash_array_extended(anyarray, int8);
CREATE OPERATOR CLASS steward.range_ops DEFAULT FOR TYPE anyrange
    USING steward_hash AS
    OPERATOR 1 = (anyrange, anyrange),
    FUNCTION 1 pg_catalog.hash_range_extended(anyrange, int8);
CREATE OPERATOR CLASS steward.multirange_ops DEFAULT FOR TYPE anymultirange
    USING steward_hash AS
    OPERATOR 1 = (anymultirange, anymultirange),
    FUNCTION 1 pg_catalog.hash_multirange_extended(anymultirange, int8);
CREATE OPERATOR CLASS steward.record_ops DEFAULT FOR TYPE record
    USING steward_hash AS
    OPERATOR 1 = (record, record),
    FUNCTION 1 pg_catalog.hash_record_extended(record, int8);

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


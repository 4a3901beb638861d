# Background workers and a hostile database-level search_path
# (src/plumbing/README.md, "Where SQL runs").
#
# A database's owner need not be a superuser, yet its ALTER DATABASE ...
# SET search_path applies to every session of that database, also to the
# sessions of pg_steward's background workers: the purge worker (logged in
# as the bootstrap superuser, purging keys and sampling table sizes as the
# extension's owner) and the index build worker (logged in as the user who
# runs the index migration, building as the table's owner).  Both pin
# search_path, so the owner's shadows of pg_catalog's operators and
# functions, in a schema it lists first, never run -- here they would run
# as a superuser.  Checked:
#   - the purge worker deletes the expired keys of the database and takes
#     a capacity sample there, and no shadow runs;
#   - an index migration of a superuser's table, started and backfilled by
#     the superuser in a session that has the hostile path, builds its
#     index (its predicate uses <> on text, which the owner shadows), and
#     no shadow runs.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('worker_path');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = '1s'
steward.capacity_sample_interval = '1s'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE dbo LOGIN;
	CREATE DATABASE tenant OWNER dbo;
});
$node->safe_psql('tenant', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE public.orders (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new')
	    USING steward;
	INSERT INTO public.orders SELECT g FROM generate_series(1, 50) g;
});

# The database's owner plants its shadows and makes its schema the first
# one of every session of the database.
$node->safe_psql('tenant', q{
	CREATE SCHEMA dbo_evil;
	CREATE TABLE dbo_evil.ran (who text, what text);
	GRANT USAGE ON SCHEMA dbo_evil TO PUBLIC;
	GRANT INSERT ON dbo_evil.ran TO PUBLIC;
	CREATE FUNCTION dbo_evil.spy(what text) RETURNS void LANGUAGE sql
	    AS $$ INSERT INTO dbo_evil.ran VALUES (current_user, what) $$;
	CREATE FUNCTION dbo_evil.texteq(text, text) RETURNS boolean LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('text ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
	CREATE FUNCTION dbo_evil.textne(text, text) RETURNS boolean LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('text <>'); SELECT $1 OPERATOR(pg_catalog.<>) $2 $$;
	CREATE FUNCTION dbo_evil.oideq(oid, oid) RETURNS boolean LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('oid ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
	CREATE FUNCTION dbo_evil.tslt(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('timestamptz <'); SELECT $1 OPERATOR(pg_catalog.<) $2 $$;
	CREATE FUNCTION dbo_evil.tsgt(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('timestamptz >'); SELECT $1 OPERATOR(pg_catalog.>) $2 $$;
	CREATE OPERATOR dbo_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = dbo_evil.texteq);
	CREATE OPERATOR dbo_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = dbo_evil.textne);
	CREATE OPERATOR dbo_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = dbo_evil.oideq);
	CREATE OPERATOR dbo_evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = dbo_evil.tslt);
	CREATE OPERATOR dbo_evil.> (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = dbo_evil.tsgt);
	CREATE FUNCTION dbo_evil.now() RETURNS timestamptz LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('now'); SELECT pg_catalog.now() $$;
	CREATE FUNCTION dbo_evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('clock_timestamp'); SELECT pg_catalog.clock_timestamp() $$;
	CREATE FUNCTION dbo_evil.pg_total_relation_size(regclass) RETURNS bigint LANGUAGE sql
	    AS $$ SELECT dbo_evil.spy('pg_total_relation_size'); SELECT pg_catalog.pg_total_relation_size($1) $$;
	ALTER DATABASE tenant SET search_path = dbo_evil, pg_catalog, public;
}, extra_params => [ '-U', 'dbo' ]);
is($node->safe_psql('tenant', 'SHOW search_path'),
	'dbo_evil, pg_catalog, public',
	"a new session of the database gets its owner's search_path");
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'dbo'}),
	'f', 'the database owner is no superuser');

# The checks below read with a search_path of their own.
my $pin = 'SET search_path = pg_catalog; ';
my $ran_q = $pin . q{SELECT coalesce(string_agg(who || ': ' || what, ', '), '') FROM dbo_evil.ran};

# 1. The purge worker: expired keys go, a capacity sample is taken.
$node->safe_psql('tenant', $pin . q{
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM generate_series(1, 20) g,
	       LATERAL steward.idempotency_begin('spa', 'k-' || g, 'fp');
});
ok( poll_until(
		$node, 'tenant',
		$pin . q{SELECT NOT EXISTS (SELECT 1 FROM steward.idempotency_keys WHERE scope = 'spa')},
		60, 200),
	'the purge worker deleted the expired keys of the database');
ok( poll_until(
		$node, 'tenant',
		$pin . q{SELECT EXISTS (SELECT 1 FROM steward.capacity_samples
		                         WHERE relid = 'public.orders'::regclass)},
		60, 200),
	'the purge worker took a capacity sample of the database');
is($node->safe_psql('tenant', $ran_q), '',
	"no shadow of the database owner's ran in the purge worker");

# 2. The index build worker, for a superuser's migration started under the
# database's hostile search_path (the caller's own statements name no
# operator).
$node->safe_psql('tenant', q{
	SELECT steward.migration_start('ix', '[{"create_index": {"table": "public.orders",
	    "name": "orders_open", "definition": "(id)", "where": "status <> ''done''"}}]');
});
$node->safe_psql('tenant', q{CALL steward.migration_backfill('ix')});
is( $node->safe_psql(
		'tenant', $pin . q{
		SELECT i.indisvalid, pg_get_expr(i.indpred, i.indrelid)
		  FROM pg_index i WHERE i.indexrelid = 'public.orders_open'::regclass}),
	q{t|(status <> 'done'::text)},
	"the index was built, its predicate with pg_catalog's <>");
is($node->safe_psql('tenant', $ran_q), '',
	"no shadow of the database owner's ran in the index build worker");

$node->stop;
done_testing();

# Without shared_preload_libraries (the access method, idempotency,
# lifecycle and column migrations work without it), the library is loaded
# by a session's first call of one of its functions: the transaction that
# loaded it counted as pg_steward's own code (the functions already running
# were not counted), so a session's first statement calling an internal
# function directly passed for pg_steward's (review13 R13-8).  Now only a
# load from within a function counts:
# * a first statement's direct call of steward._migration_record (the
#   caller's own migration marked switched by hand), of
#   steward._migration_exec with backfill, and of
#   steward._migration_lock_related (pg_authid; a view on the caller's
#   table) is refused (42501);
# * the documented path still works in fresh sessions, with the library
#   loaded by the entry point itself: backfill (a procedure committing
#   between batches), validate, complete, cleanup;
# * run_transition's SET list cannot call the internal writers either.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('trust_nopreload');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE ROLE app65;
	GRANT CREATE ON SCHEMA public TO app65;
	GRANT CREATE ON DATABASE postgres TO app65;
});
is($node->safe_psql('postgres', q{SHOW shared_preload_libraries}), '', 'no preloading');

$node->safe_psql('postgres', q{
	SET ROLE app65;
	CREATE TABLE t65 (id int PRIMARY KEY, v int);
	INSERT INTO t65 SELECT g, g FROM generate_series(1, 50) g;
	SELECT steward.migration_start('m65', '[{"alter_column": {"table": "t65", "column": "v", "name": "w", "type": "bigint", "up": "v", "down": "w"}}]');
	SELECT steward.create_state_machine('sm65', states => ARRAY['a','b'], initial => ARRAY['a'], transitions => ARRAY['a->b']);
	CREATE TABLE s65 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', note text) USING steward;
	SELECT steward.attach_state_machine('s65', 'st', 'sm65');
	INSERT INTO s65 SELECT g FROM generate_series(1, 10) g;
	CREATE VIEW v65 AS SELECT id FROM s65;
});

# Each call below is a new session's first statement of the library.
my ($rc, $out, $err);
($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE app65;
	SELECT steward._migration_record('update', 'm65', '{"phase": "switched"}');
});
like($err, qr/runs catalog writes only for pg_steward's migration functions/,
	'first statement: _migration_record refused');
is($node->safe_psql('postgres', q{SELECT phase FROM steward.migrations WHERE name = 'm65'}),
	'pending_backfill', 'phase unchanged');

($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE app65;
	SELECT steward._migration_exec('t65', 'UPDATE public.t65 SET v = v', NULL, true);
});
like($err, qr/runs a backfill statement only for pg_steward's migration functions/,
	'first statement: _migration_exec backfill refused');

($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE app65;
	BEGIN;
	SELECT steward._migration_lock_related('t65', 'pg_catalog.pg_authid');
	SELECT count(*) FROM pg_locks WHERE relation = 'pg_catalog.pg_authid'::regclass
	   AND mode = 'AccessExclusiveLock' AND pid = pg_backend_pid();
	COMMIT;
});
like($err, qr/locks only a view on relation "t65" or a table whose foreign key references it/,
	'first statement: pg_authid not locked');
($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE app65;
	SELECT steward._migration_lock_related('s65', 'v65');
});
like($err, qr/runs a lock only for pg_steward's migration functions/,
	'first statement: a view on the table not locked either');

($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE app65;
	CALL steward.run_transition('s65', 'a', 'b', $$note = steward._migration_record('update', 'm65', '{"phase": "switched"}')::text$$, 100);
});
like($err, qr/runs catalog writes only for pg_steward's migration functions/,
	'first statement: _migration_record from the SET list refused');
is($node->safe_psql('postgres', q{SELECT count(*) FROM s65 WHERE st = 'a'}), '10', 'no row moved');

# The documented path, each step in a fresh session.
$node->safe_psql('postgres', q{SET ROLE app65; CALL steward.migration_backfill('m65', 10);});
is($node->safe_psql('postgres', q{SET ROLE app65; SELECT count(*) FROM steward.migration_validate('m65') WHERE NOT passed}),
	'0', 'validated');
$node->safe_psql('postgres', q{SET ROLE app65; SELECT steward.migration_complete('m65');});
$node->safe_psql('postgres', q{SET ROLE app65; SELECT steward.migration_cleanup('m65');});
is($node->safe_psql('postgres', q{SELECT count(*), sum(w) FROM t65}), '50|1275', 'migrated');
$node->safe_psql('postgres', q{SET ROLE app65; CALL steward.run_transition('s65', 'a', 'b', $$note = 'x'$$, 3);});
is($node->safe_psql('postgres', q{SELECT count(*) FROM s65 WHERE st = 'b' AND note = 'x'}), '10', 'run_transition moved all');

$node->stop;
done_testing();

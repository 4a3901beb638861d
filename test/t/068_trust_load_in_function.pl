# Without shared_preload_libraries, the library is loaded by a session's
# first call of one of its functions.  A function that began before that
# (the hook counting pg_steward's own code was not in place) is never
# counted, and nothing runs as pg_steward's own code without a counted
# function (exec.c: own_context).  Before, a load from within any
# function (a user's, a DO block, an internal one called directly)
# counted as pg_steward's own for the rest of the transaction, and later
# DO blocks too:
# * review14 R14-7: a user function that is a session's first call ran
#   steward._migration_exec's DDL as the migration's own, past the DDL
#   guard: another role's foreign key on the migrated column, which then
#   blocked the owner's cleanup.  Now refused, no foreign key;
# * codereview2 #1: steward._migration_switch called as a session's first
#   statement, or from a DO block after a load within a function, renamed
#   the columns of an unbackfilled migration past the guard; a user
#   function that is a session's first call wrote the catalog
#   (_migration_record) and ran backfill statements.  Now refused,
#   nothing renamed or written;
# * the documented entry points still work without preloading: as a
#   session's first statement, inside a DO block that loads the library,
#   and after a load within a function (they call themselves again when
#   they began uncounted, exec.c steward_migration_entered); backfill
#   commits between batches.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('trust_load_in_function');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE ROLE app1;
	CREATE ROLE app2;
	GRANT CREATE ON SCHEMA public TO app1, app2;
	GRANT CREATE ON DATABASE postgres TO app1, app2;
});
is($node->safe_psql('postgres', q{SHOW shared_preload_libraries}), '', 'no preloading');

# A statement that loads the library from within a function.
my $load_in_do = q{DO $$BEGIN PERFORM steward._migration_settings(); END$$;};

sub phase
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT phase FROM steward.migrations WHERE name = '$name'});
}

sub columns
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped});
}

# --- review14 R14-7: the DDL guard bypassed from a user function --------
$node->safe_psql('postgres', q{
	SET ROLE app2;
	CREATE TABLE t2 (id int PRIMARY KEY, a int UNIQUE);
	INSERT INTO t2 SELECT g, g FROM generate_series(1, 10) g;
	GRANT SELECT, REFERENCES ON t2 TO app1;
	SELECT steward.migration_start('t2m', '[{"alter_column": {"table": "t2", "column": "a", "type": "bigint"}}]');
	SET ROLE app1;
	CREATE TABLE app1ref (id int PRIMARY KEY, rid int);
	CREATE FUNCTION public.forge3() RETURNS text LANGUAGE plpgsql AS $f$
	BEGIN
	  PERFORM steward._migration_exec('public.app1ref', 'ALTER TABLE public.app1ref ADD FOREIGN KEY (rid) REFERENCES public.t2(a)');
	  RETURN 'x';
	END $f$;
});
my ($rc, $out, $err) = $node->psql('postgres', q{SET ROLE app1; SELECT public.forge3();});
like($err, qr/cannot add a foreign key referencing column "a" of relation "t2" while migration "t2m" changes it/,
	'R14-7: a user function loading the library does not pass the DDL guard');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_constraint WHERE conrelid = 'app1ref'::regclass AND contype = 'f'}),
	'0', 'R14-7: no foreign key made');

# The owner's documented path, each step a fresh session's first statement.
$node->safe_psql('postgres', q{SET ROLE app2; CALL steward.migration_backfill('t2m');});
is(phase('t2m'), 'backfilled', 'first statement: backfill (commits between batches)');
is($node->safe_psql('postgres', q{SET ROLE app2; SELECT count(*) FROM steward.migration_validate('t2m') WHERE NOT passed}),
	'0', 'first statement: validate');
$node->safe_psql('postgres', q{SET ROLE app2; SELECT steward.migration_complete('t2m');});
is(phase('t2m'), 'switched', 'first statement: complete');
($rc, $out, $err) = $node->psql('postgres', q{SET ROLE app2; SELECT steward.migration_cleanup('t2m');});
is($rc, 0, 'R14-7: the owner\'s cleanup is not blocked') or diag($err);
is(columns('t2'), 'id,a', 'cleaned up: the old column dropped');
is($node->safe_psql('postgres', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't2'::regclass AND attname = 'a'}),
	'bigint', 'migrated');

# --- codereview2 #1: internal functions called directly ---------------
$node->safe_psql('postgres', q{
	SET ROLE app2;
	CREATE TABLE t68 (id int PRIMARY KEY, v int);
	INSERT INTO t68 SELECT g, g FROM generate_series(1, 50) g;
	SELECT steward.migration_start('m68', '[{"alter_column": {"table": "t68", "column": "v", "name": "w", "type": "bigint", "up": "v", "down": "w"}}]');
	CREATE TABLE t68d (id int PRIMARY KEY, v int);
	INSERT INTO t68d SELECT g, g FROM generate_series(1, 5) g;
	SELECT steward.migration_start('m68d', '[{"alter_column": {"table": "t68d", "column": "v", "name": "w", "type": "bigint", "up": "v", "down": "w"}}]');
	CREATE FUNCTION public.rec68() RETURNS void LANGUAGE plpgsql AS $f$
	BEGIN PERFORM steward._migration_record('update', 'm68', '{"phase": "backfilled"}'); END $f$;
	CREATE FUNCTION public.bf68() RETURNS void LANGUAGE plpgsql AS $f$
	BEGIN PERFORM steward._migration_exec('public.t68', 'UPDATE public.t68 SET id = id', NULL, true); END $f$;
});
my $before = columns('t68');
my $before_d = columns('t68d');

# Each a fresh session's first statement.
($rc, $out, $err) = $node->psql('postgres', q{SET ROLE app2; SELECT steward._migration_switch('m68', '{}');});
like($err, qr/cannot rename a column of "t68" while migration "m68" changes it/,
	'first statement: _migration_switch refused (its DDL judged by the guard)');
is(columns('t68'), $before, 'first statement: no column renamed');
($rc, $out, $err) = $node->psql('postgres', q{SET ROLE app2; SELECT public.rec68();});
like($err, qr/runs catalog writes only for pg_steward's migration functions/,
	'first statement: a user function loading the library: _migration_record refused');
is(phase('m68'), 'pending_backfill', 'not marked backfilled');
($rc, $out, $err) = $node->psql('postgres', q{SET ROLE app2; SELECT public.bf68();});
like($err, qr/runs a backfill statement only for pg_steward's migration functions/,
	'first statement: a user function loading the library: _migration_exec backfill refused');

# A later DO block, after the library was loaded within a function.
($rc, $out, $err) = $node->psql('postgres', qq{
	SET ROLE app2;
	$load_in_do
	DO \$\$BEGIN PERFORM steward._migration_switch('m68d', '{}'); END\$\$;
});
like($err, qr/cannot rename a column of "t68d" while migration "m68d" changes it/,
	'later DO block: _migration_switch refused');
is(columns('t68d'), $before_d, 'later DO block: no column renamed');
($rc, $out, $err) = $node->psql('postgres', qq{
	SET ROLE app2;
	$load_in_do
	DO \$\$BEGIN PERFORM steward._migration_record('update', 'm68d', '{"phase": "switched"}'); END\$\$;
});
like($err, qr/runs catalog writes only for pg_steward's migration functions/,
	'later DO block: _migration_record refused');
is(phase('m68d'), 'pending_backfill', 'later DO block: not switched');

# The documented path after a load within a function, and from a DO
# block that loads the library itself.
$node->safe_psql('postgres', qq{SET ROLE app2; $load_in_do CALL steward.migration_backfill('m68', 10);});
is(phase('m68'), 'backfilled', 'after a load in a function: backfill');
is($node->safe_psql('postgres', qq{SET ROLE app2; $load_in_do SELECT count(*) FROM steward.migration_validate('m68') WHERE NOT passed}),
	'0', 'after a load in a function: validate');
$node->safe_psql('postgres', q{SET ROLE app2; DO $$BEGIN PERFORM steward.migration_complete('m68'); END$$;});
is(phase('m68'), 'switched', 'in a DO block that loads the library: complete');
$node->safe_psql('postgres', qq{SET ROLE app2; $load_in_do SELECT steward.migration_cleanup('m68');});
is(columns('t68'), 'id,w', 'after a load in a function: cleanup');
is($node->safe_psql('postgres', q{SELECT count(*), sum(w) FROM t68}), '50|1275', 'migrated');

# Rollback and forget, each a session's first statement.
$node->safe_psql('postgres', q{SET ROLE app2; SELECT steward.migration_rollback('m68d');});
is($node->safe_psql('postgres', q{SELECT result FROM steward.migrations WHERE name = 'm68d'}),
	'rolled_back', 'first statement: rollback');
is(columns('t68d'), 'id,v', 'rolled back');
is($node->safe_psql('postgres', q{SET ROLE app2; SELECT count(*) FROM steward.migration_forget('t68d')}),
	'0', 'first statement: forget (nothing left)');

$node->stop;
done_testing();

# pg_steward's functions that write, on a hot standby and in a read-only
# transaction (msg6 item 5).  On a standby they failed with whatever core
# refused first: track_versions, release, add_transition and the other
# calls that lock a table or a machine with core's lock message ("cannot
# acquire lock mode ShareRowExclusiveLock on database objects while
# recovery is in progress", 55000, HINT about RowExclusiveLock), the
# catalog writers with "cannot execute UPDATE in a read-only transaction"
# (a statement the caller never wrote), the migration functions with the
# migration's own errors after reading it.  Now every one is refused first
# with 25006 "cannot execute steward.f() during recovery", as core's
# PreventCommandDuringRecovery words it, a DETAIL and a HINT naming the
# primary, and no CONTEXT; in a read-only transaction on the primary with
# "cannot execute steward.f() in a read-only transaction".  The
# idempotency functions kept their own 25006 ("cannot write idempotency
# keys or scopes in a read-only transaction", readme42 R10) on a standby
# too; now they say what every other writer says there (msg7 item 1), and
# keep their own words in a read-only transaction on the primary, also
# for the calls that read first (drop, owner change, retention,
# complete); a replay of a completed key still works on the standby, and
# so do the readers (verify, validate of a table without checks).
# validate() of a table with checks was refused on the standby; now it
# runs the checks and reports them, recording nothing, with a NOTICE that
# says so (msg7 item 2); in a read-only transaction on the primary, which
# could record the run, it is still refused.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $primary = PostgreSQL::Test::Cluster->new('r125_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', v bigint, s bigint) USING steward;
	CREATE TABLE plain (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a') USING steward;
	SELECT steward.track_versions('t', 'v');
	INSERT INTO t (id) SELECT g FROM generate_series(1, 10) g;
	SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.attach_state_machine('t', 'st', 'm');
	SELECT steward.set_state_check('t', 'b', 'SELECT 0');
	SELECT steward.set_state_check('t', 'a', 'SELECT count(*) FROM t WHERE id > 8');
	SELECT steward.migration_start('mig', '[{"add_column": {"table": "t", "column": "note", "type": "text"}}]');
	SELECT outcome FROM steward.idempotency_begin('sc', 'done', 'fp');
	SELECT steward.idempotency_complete('sc', 'done', 200, '{"ok": true}');
});

my $standby = streaming_standby($primary, 'r125_standby');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# The calls, each with the name its error gives.
my @writers = (
	[ 'track_versions', q{SELECT steward.track_versions('t', 's')} ],
	[ 'track_sequence', q{SELECT steward.track_sequence('t', 's')} ],
	[ 'untrack', q{SELECT steward.untrack('t', 'v')} ],
	[ 'release', q{SELECT * FROM steward.release('plain')} ],
	[ 'release_all', q{SELECT * FROM steward.release_all()} ],
	[ 'create_state_machine', q{SELECT steward.create_state_machine('m2', ARRAY['a'], ARRAY['a'], ARRAY[]::text[])} ],
	[ 'drop_state_machine', q{SELECT steward.drop_state_machine('m')} ],
	[ 'add_transition', q{SELECT steward.add_transition('m', 'b', 'c')} ],
	[ 'drop_transition', q{SELECT steward.drop_transition('m', 'a', 'b')} ],
	[ 'grant_state_machine', q{SELECT steward.grant_state_machine('m', 'pg_monitor')} ],
	[ 'revoke_state_machine', q{SELECT steward.revoke_state_machine('m', 'pg_monitor')} ],
	[ 'alter_state_machine_owner', q{SELECT steward.alter_state_machine_owner('m', 'pg_monitor')} ],
	[ 'attach_state_machine', q{SELECT steward.attach_state_machine('plain', 'st', 'm')} ],
	[ 'detach_state_machine', q{SELECT steward.detach_state_machine('t', 'st')} ],
	[ 'set_state_check', q{SELECT steward.set_state_check('t', 'a', 'SELECT 0')} ],
	[ 'validate', q{SELECT * FROM steward.validate('t')} ],
	[ 'set_retention', q{SELECT steward.set_retention('t', '30 days')} ],
	[ 'restore_builtin_machines', q{SELECT * FROM steward.restore_builtin_machines()} ],
	[ 'record_machine_roles', q{SELECT steward.record_machine_roles()} ],
	[ 'run_transition', q{CALL steward.run_transition('t', 'a', 'b')} ],
	[ 'migration_start', q{SELECT steward.migration_start('mig2', '[{"add_column": {"table": "plain", "column": "n", "type": "text"}}]')} ],
	[ 'migration_backfill', q{CALL steward.migration_backfill('mig')} ],
	[ 'migration_validate', q{SELECT * FROM steward.migration_validate('mig')} ],
	[ 'migration_complete', q{SELECT steward.migration_complete('mig')} ],
	[ 'migration_cleanup', q{SELECT steward.migration_cleanup('mig')} ],
	[ 'migration_rollback', q{SELECT steward.migration_rollback('mig')} ],
	[ 'migration_forget', q{SELECT * FROM steward.migration_forget('plain')} ],
);
my @idempotency = (
	[ 'idempotency_begin', q{SELECT * FROM steward.idempotency_begin('sc', 'new-key', 'fp')} ],
	[ 'idempotency_begin_strict', q{SELECT * FROM steward.idempotency_begin_strict('sc', 'new-key', 'fp')} ],
	[ 'idempotency_complete', q{SELECT steward.idempotency_complete('sc', 'new-key', 200, '{}')} ],
	[ 'create_idempotency_scope', q{SELECT steward.create_idempotency_scope('sc2')} ],
	[ 'drop_idempotency_scope', q{SELECT steward.drop_idempotency_scope('sc')} ],
	[ 'alter_idempotency_scope_owner', q{SELECT steward.alter_idempotency_scope_owner('sc', 'pg_monitor')} ],
	[ 'set_idempotency_retention', q{SELECT steward.set_idempotency_retention('sc', '1 hour')} ],
	[ 'idempotency_purge', q{SELECT steward.idempotency_purge()} ],
);

# stderr of $sql on $node, verbose (SQLSTATE shown), in a transaction
# that is read-only when $read_only.
sub refusal
{
	my ($node, $sql, $read_only) = @_;
	my $set = $read_only ? "SET default_transaction_read_only = on;\n" : '';
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$set$sql");
	return $err;
}

foreach my $w (@writers, @idempotency)
{
	my ($f, $sql) = @$w;
	next if $f eq 'validate';	# it reports without recording: below
	my $err = refusal($standby, $sql, 0);
	like($err,
		qr/ERROR:  25006: cannot execute steward\.\Q$f\E\(\) during recovery\nDETAIL:  This server is a hot standby: it replays the primary's changes and writes none of its own\.\nHINT:  Connect to the primary \(libpq's target_session_attrs=read-write finds it\)\.\n/,
		"standby: $f is refused with 25006 during recovery");
	unlike($err, qr/CONTEXT:|cannot acquire lock mode|cannot execute (INSERT|UPDATE|DELETE|SELECT FOR)/,
		"standby: $f names no lock, no statement and no CONTEXT");
}
unlike(refusal($standby, $idempotency[0][1], 0), qr/cannot write idempotency keys/,
	'standby: not the read-only transaction\'s words of the idempotency functions');
like(refusal($standby, q{SELECT * FROM steward.capacity_sample()}, 0),
	qr/ERROR:  25006: capacity samples are taken on the primary\n(?!.*CONTEXT)/s,
	'standby: capacity_sample keeps its own 25006, without CONTEXT');

# The readers still work there.
is($standby->safe_psql('postgres',
		q{SELECT status || ' ' || response::text FROM steward.idempotency_begin('sc', 'done', 'fp')}),
	'200 {"ok": true}', 'standby: a completed key is replayed');
is($standby->safe_psql('postgres',
		q{SELECT count(*) FROM steward.verify('t') WHERE passed IS DISTINCT FROM true}),
	'0', 'standby: verify runs');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM steward.validate('plain')}),
	'0', 'standby: validate of a table without checks runs (it records nothing)');
{
	my ($rc, $out, $err) = $standby->psql('postgres',
		"\\set VERBOSITY verbose\n"
		  . q{SELECT state || ' ' || passed || ' ' || violations FROM steward.validate('t') ORDER BY state});
	is($rc, 0, 'standby: validate of a table with checks runs');
	is($out, "a false 2\nb true 0", 'standby: it reports each check, run on the standby\'s rows');
	like($err,
		qr/NOTICE:  00000: steward.validate\(\) did not record this run: the server is in recovery\nDETAIL:  A hot standby writes nothing of its own; steward.validation_runs holds the runs made on the primary\.\nHINT:  To record a run, call steward.validate\(\) on the primary\.\n/,
		'standby: a NOTICE says the run is not recorded, and where to record it');
	unlike($err, qr/ERROR|CONTEXT/, 'standby: no error, no CONTEXT');
	is($standby->safe_psql('postgres', 'SELECT count(*) FROM steward.validation_runs'),
		'0', 'standby: nothing recorded');
}

# In a read-only transaction on the primary: the same refusal, worded as
# core's PreventCommandIfReadOnly, and nothing changed.
foreach my $w (@writers)
{
	my ($f, $sql) = @$w;
	like(refusal($primary, $sql, 1),
		qr/ERROR:  25006: cannot execute steward\.\Q$f\E\(\) in a read-only transaction\nHINT:  Run it in a read-write transaction\.\n/,
		"read-only transaction: $f is refused with 25006");
}
foreach my $w (@idempotency)
{
	my ($f, $sql) = @$w;
	like(refusal($primary, $sql, 1),
		qr/ERROR:  25006: cannot write idempotency keys or scopes in a read-only transaction\nDETAIL:  .*\nHINT:  Run it in a read-write transaction \(SET transaction_read_only = off\), on the primary\.\n/,
		"read-only transaction: $f keeps the idempotency functions' own 25006");
}
is($primary->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM steward.column_rules WHERE relid = 't'::regclass) || ' '
	    || (SELECT phase FROM steward.migrations WHERE name = 'mig') || ' '
	    || (SELECT string_agg(st, ',' ORDER BY st) FROM (SELECT DISTINCT st FROM t) s)}),
	'2 pending_backfill a', 'nothing changed on the primary');

$standby->stop;
$primary->safe_psql('postgres', q{SELECT pg_drop_replication_slot('r125_standby')});
$primary->stop;
done_testing();

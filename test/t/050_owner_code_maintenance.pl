# Owner code in maintenance (issue 11 items 1, 2 and 4): a superuser runs
# pg_steward's maintenance on a table owner's table - verify, checksum
# ranges, verify_index, state counts, validate, a batch transition, and a
# whole steward-drill, which runs verify and checksum_ranges as a superuser
# on a restored copy on the same host.
#
# owner1, an ordinary role, plants code everywhere the maintenance could
# evaluate it: an index expression, a cast from its row type, a forced
# row-security policy, a row trigger and a state check.  Each piece logs who
# runs it; run as a superuser it would make owner1 superuser and run a shell
# command on the host (COPY TO PROGRAM writes a marker file).  The forced
# policy hides rows from owner1, as whom the maintenance reads: it is
# refused (55000) before the policy runs, and works once the policy no
# longer applies to the owner (NO FORCE).  Everything must work, the code
# must run as owner1 only (the cast and the policy never), no marker file
# may appear, and owner1 must not be superuser - on the source, and on the
# drill's copy, where a superuser escalation would still reach the host.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);
use IPC::Run;

my $marker = PostgreSQL::Test::Utils::tempdir() . '/owner-code-ran-as-superuser';
(my $marker_sql = $marker) =~ s/'/''/g;

my $node = PostgreSQL::Test::Cluster->new('owner_code');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', qq{
	CREATE ROLE owner1 LOGIN;
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA o1 AUTHORIZATION owner1;
	SET ROLE owner1;
	CREATE TABLE o1.calls (by name, what text);
	-- Volatile, so the IMMUTABLE index function below can reach it.
	CREATE FUNCTION o1.escalate(what text) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
	    INSERT INTO o1.calls VALUES (current_user, what);
	    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
	        EXECUTE pg_catalog.format('COPY (SELECT %L) TO PROGRAM %L',
	                                  what, 'cat >> ''$marker_sql''');
	        EXECUTE 'ALTER ROLE owner1 SUPERUSER';
	    END IF;
	    RETURN true;
	END \$\$;
	CREATE TABLE o1.acct (id int PRIMARY KEY, k text NOT NULL,
	                      lifecycle text NOT NULL DEFAULT 'new') USING steward;
	SELECT steward.attach_state_machine('o1.acct', 'lifecycle', 'data_lifecycle');
	INSERT INTO o1.acct (id, k) SELECT g, 'k' || g FROM generate_series(1, 20) g;
	CREATE FUNCTION o1.key_of(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS \$\$
	BEGIN PERFORM o1.escalate('index expression'); RETURN \$1; END \$\$;
	CREATE INDEX acct_k ON o1.acct USING steward_hash (o1.key_of(k));
	CREATE FUNCTION o1.acct_text(o1.acct) RETURNS text LANGUAGE plpgsql AS \$\$
	BEGIN PERFORM o1.escalate('cast'); RETURN 'same'; END \$\$;
	CREATE CAST (o1.acct AS text) WITH FUNCTION o1.acct_text(o1.acct);
	CREATE FUNCTION o1.trg() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN PERFORM o1.escalate('trigger'); RETURN NEW; END \$\$;
	CREATE TRIGGER acct_trg BEFORE UPDATE ON o1.acct FOR EACH ROW EXECUTE FUNCTION o1.trg();
	SELECT steward.set_state_check('o1.acct', 'pending_backfill',
	    'SELECT count(*) FILTER (WHERE NOT o1.escalate(''state check'')) FROM o1.acct');
	ALTER TABLE o1.acct ENABLE ROW LEVEL SECURITY;
	ALTER TABLE o1.acct FORCE ROW LEVEL SECURITY;
	CREATE POLICY everything ON o1.acct USING (o1.escalate('policy'));
	TRUNCATE o1.calls;
});

sub owner1_is_superuser
{
	return $node->safe_psql('postgres',
		q{SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1'});
}

# Forced: the owner cannot see every row, so the superuser's maintenance
# refuses before it reads any (regress 75_force_rls covers each entry point).
my ($frc, $fout, $ferr) = $node->psql('postgres', q{SELECT * FROM steward.verify('o1.acct')});
like($ferr, qr/row-level security hides rows of table "acct" from its owner/,
	'verify() refuses a table whose policies apply to its owner');
($frc, $fout, $ferr) = $node->psql('postgres',
	q{CALL steward.run_transition('o1.acct', 'new', 'pending_backfill', NULL, 7)});
like($ferr, qr/NO FORCE ROW LEVEL SECURITY/, 'run_transition refuses it, naming the next step');
$node->safe_psql('postgres', 'ALTER TABLE o1.acct NO FORCE ROW LEVEL SECURITY');

# The superuser's maintenance on the source.
my $verify = $node->safe_psql('postgres',
	q{SELECT string_agg("check" || '=' || coalesce(passed::text, 'null'), ',' ORDER BY "check")
	    FROM steward.verify('o1.acct') WHERE "check" <> 'heap'});
is($verify,
	'checksum=true,index o1.acct_k=true,row_count=true,states lifecycle=true,unique o1.acct_pkey=true',
	'verify() passes every check');
is($node->safe_psql('postgres',
	q{SELECT sum(rows) FROM steward.checksum_ranges('o1.acct', 'id', 4)}),
	'20', 'checksum_ranges() covers every row');
is($node->safe_psql('postgres', q{SELECT count(*) FROM steward.verify_index('o1.acct_k')}),
	'0', 'verify_index() finds the index consistent');
$node->safe_psql('postgres',
	q{CALL steward.run_transition('o1.acct', 'new', 'pending_backfill', NULL, 7)});
is($node->safe_psql('postgres',
	q{SELECT state || ':' || rows FROM steward.state_counts WHERE relid = 'o1.acct'::regclass}),
	'pending_backfill:20', 'run_transition moved every row; state_counts counts them');
is($node->safe_psql('postgres',
	q{SELECT passed FROM steward.validate('o1.acct')}), 't', 'validate() runs the check');

is(owner1_is_superuser(), 'f', 'owner1 is not superuser after the maintenance');
ok(!-e $marker, 'no owner code ran a program on the host');
is($node->safe_psql('postgres',
	q{SELECT string_agg(DISTINCT by::text, ',') FROM o1.calls}),
	'owner1', 'owner code ran as owner1 only');
is($node->safe_psql('postgres',
	q{SELECT string_agg(DISTINCT what, ',' ORDER BY what) FROM o1.calls}),
	'index expression,state check,trigger',
	'the index expression, the trigger and the check did run, the policy never');

# A restore drill, as a superuser, on a copy on this host.
my ($rc, $out, $err) = steward_drill($node, 'postgres');
is($rc, 0, 'the drill passes');
like($out, qr/^ok: postgres\.o1\.acct verified \(20 rows\)$/m, 'the drill verified o1.acct');
like($out, qr/^ok: postgres\.o1\.acct checksum ranges match the source$/m,
	'the drill compared its checksum ranges');
ok(!-e $marker, 'no owner code ran a program on the host during the drill');
is(owner1_is_superuser(), 'f', 'owner1 is not superuser after the drill');
is($node->safe_psql('postgres', q{SELECT count(*) FROM o1.calls WHERE what = 'cast'}),
	'0', 'the cast never ran');

done_testing();

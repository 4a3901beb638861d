# A column migration of a published table whose REPLICA IDENTITY is an
# index over the migrated column keeps logical replication of UPDATE and
# DELETE going, with the subscriber's own identity on the same column
# (relay2).  migration_start refused such a table (55000, HINT: REPLICA
# IDENTITY DEFAULT for the migration); with DEFAULT the publisher sends
# the primary key as the old key, and a subscriber whose identity is the
# code index stops applying ("publisher did not send replica identity
# column expected by the logical replication target relation").  Now
# the identity follows the column: the recorded index until complete,
# the key the step builds over the new column from complete (moved in
# complete's transaction, with the publication's column list), back at a
# rollback after complete, kept by the cleanup.  The subscriber's rows
# equal the publisher's after changes before, during and after complete,
# a rollback, and the cleanup, and its log has no apply error.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $pub = PostgreSQL::Test::Cluster->new('ri_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\nsteward.governor = off");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('ri_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "wal_retrieve_retry_interval = 200ms");
$sub->start;

$pub->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE acct (id int PRIMARY KEY, code int NOT NULL CONSTRAINT acct_code_key UNIQUE, bal int) USING steward;
	INSERT INTO acct SELECT g, 1000 + g, g FROM generate_series(1, 30) g;
	ALTER TABLE acct REPLICA IDENTITY USING INDEX acct_code_key;
	CREATE PUBLICATION p FOR TABLE acct;
});
# The subscriber finds rows by its own identity, the code index: the
# publisher must send code as the old key.
$sub->safe_psql('postgres', q{
	CREATE TABLE acct (id int PRIMARY KEY, code bigint NOT NULL CONSTRAINT acct_code_key UNIQUE, bal int);
	ALTER TABLE acct REPLICA IDENTITY USING INDEX acct_code_key;
});
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION '" . $pub->connstr . " dbname=postgres' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');

# The subscriber's rows equal the publisher's, polled for up to 60 s;
# stops early once the apply failed.
my $apply_error = qr/did not send replica identity|neither REPLICA IDENTITY|could not find|is missing replicated column/;
sub same
{
	my ($what) = @_;
	my $q = q{SELECT string_agg(format('%s:%s:%s', id, code, bal), ',' ORDER BY id) FROM acct};
	my $want = $pub->safe_psql('postgres', $q);
	my $got;
	for (1 .. 600)
	{
		$got = $sub->safe_psql('postgres', $q);
		last if $got eq $want;
		last if slurp_file($sub->logfile) =~ $apply_error;
		usleep(100_000);
	}
	is($got, $want, $what);
}
sub identity
{
	return $pub->safe_psql('postgres', q{
		SELECT x.relname || ' ' || format_type(a.atttypid, a.atttypmod)
		  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
		  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		 WHERE i.indrelid = 'acct'::regclass AND i.indisreplident});
}
same('initial sync');

# Start (the UNIQUE constraint is carried to the new column).
my ($ret, $out, $err) = $pub->psql('postgres', q{
	SELECT steward.migration_start('acct_m', $$[
	  {"alter_column": {"table": "acct", "column": "code", "type": "bigint"}}]$$)});
is($ret, 0, 'start accepts a replica identity index over the migrated column');
diag($err) if $ret;
$pub->safe_psql('postgres', q{
	UPDATE acct SET bal = bal + 100 WHERE id IN (1, 2);
	DELETE FROM acct WHERE id = 3;
	UPDATE acct SET code = code + 500 WHERE id = 4;
});
is(identity(), 'acct_code_key integer', 'until complete the identity is the old index');
same('after start: UPDATE and DELETE reach the subscriber');

$pub->safe_psql('postgres', q{
	CALL steward.migration_backfill('acct_m', 7);
	UPDATE acct SET bal = bal + 1 WHERE id = 5;
	DELETE FROM acct WHERE id = 6;
});
is($pub->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE NOT passed) FROM steward.migration_validate('acct_m')}), '0', 'validated');
same('after the backfill');

# Complete: changes just before and just after it, each in its own
# transaction, decoded under the identity and column list of its moment.
$pub->safe_psql('postgres', q{
	UPDATE acct SET bal = bal + 2 WHERE id = 7;
	SELECT steward.migration_complete('acct_m');
	UPDATE acct SET bal = bal + 3 WHERE id = 8;
	DELETE FROM acct WHERE id = 9;
	UPDATE acct SET code = code + 500 WHERE id = 10;
});
is(identity(), 'acct_code_key1 bigint', 'complete moved the identity to the new column\'s key');
same('after complete: UPDATE and DELETE reach the subscriber');

# A rollback after complete moves it back.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_rollback('acct_m');
	UPDATE acct SET bal = bal + 4 WHERE id = 11;
	DELETE FROM acct WHERE id = 12;
});
is(identity(), 'acct_code_key integer', 'a rollback after complete moved it back to the old index');
same('after the rollback: UPDATE and DELETE reach the subscriber');

# Again, through the cleanup.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_start('acct_m2', $$[
	  {"alter_column": {"table": "acct", "column": "code", "type": "bigint"}}]$$);
	UPDATE acct SET bal = bal + 5 WHERE id = 13;
	CALL steward.migration_backfill('acct_m2');
});
is($pub->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE NOT passed) FROM steward.migration_validate('acct_m2')}), '0', 'validated again');
$pub->safe_psql('postgres', q{
	SELECT steward.migration_complete('acct_m2');
	DELETE FROM acct WHERE id = 14;
	UPDATE acct SET bal = bal + 6 WHERE id = 15;
});
same('after the second complete');
$pub->safe_psql('postgres', q{
	UPDATE acct SET bal = bal + 7 WHERE id = 16;
	SELECT steward.migration_cleanup('acct_m2');
	UPDATE acct SET bal = bal + 8 WHERE id = 17;
	DELETE FROM acct WHERE id = 18;
	UPDATE acct SET code = code + 500 WHERE id = 19;
});
is(identity(), 'acct_code_key bigint', 'after the cleanup the identity is the key, under its old name');
same('after the cleanup: UPDATE and DELETE reach the subscriber');

unlike(slurp_file($sub->logfile), $apply_error, 'the subscriber applied every change');

$sub->stop;
$pub->stop;
done_testing();

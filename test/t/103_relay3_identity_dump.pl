# A column migration whose replica identity follows its column survives
# pg_dump and restore with the identity switch intact, its index renamed
# before the dump (review24 V2, relay3).  The record keeps the index's
# name (steward.migration_tables.replica_identity is dumped as data,
# before the post-data indexes exist, so it cannot hold a regclass or an
# OID); complete and a rollback after complete now find the index by its
# columns, so in the restored database
#   A. (dumped after complete) a rollback puts the identity back on the
#      renamed old index, and UPDATE and DELETE of the published table
#      work at each step;
#   B. (dumped before complete) complete moves the identity to the new
#      key from the renamed index and a rollback moves it back.
# On the old code A's rollback fell back to DEFAULT with a WARNING and
# B's complete left the identity on the old column, outside the new
# shape's column list, so its UPDATE failed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ri_dump');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\nsteward.governor = off");
$node->start;

my $identity = q{SELECT c.relreplident::text || ':' || coalesce(x.relname, '-') || ':' ||
                        coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',')
                                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)), '-')
                   FROM pg_class c
                   LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
                   LEFT JOIN pg_class x ON x.oid = i.indexrelid
                  WHERE c.oid = 'acct'::regclass};

sub setup
{
	my ($db, $mig) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
		SET client_min_messages = error;
		CREATE EXTENSION pg_steward;
		CREATE TABLE acct (id int PRIMARY KEY, code int NOT NULL CONSTRAINT acct_code_key UNIQUE, bal int) USING steward;
		INSERT INTO acct SELECT g, 1000 + g, g FROM generate_series(1, 20) g;
		ALTER TABLE acct REPLICA IDENTITY USING INDEX acct_code_key;
		CREATE PUBLICATION p FOR TABLE acct;
		SELECT steward.migration_start('$mig', '[{"alter_column": {"table": "acct", "column": "code", "type": "bigint"}}]');
		CALL steward.migration_backfill('$mig');
		SELECT count(*) FROM steward.migration_validate('$mig');});
}

sub dump_restore
{
	my ($from, $to) = @_;
	my $file = $node->basedir . "/$from.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-f', $file, '-d', $node->connstr($from) ], "pg_dump $from");
	$node->safe_psql('postgres', "CREATE DATABASE $to");
	$node->command_ok([ 'pg_restore', '-d', $node->connstr($to), $file ], "pg_restore into $to");
}

sub writes_ok
{
	my ($db, $id, $what) = @_;
	my ($rc, $out, $err) = $node->psql($db, "UPDATE acct SET bal = bal + 1 WHERE id = $id; DELETE FROM acct WHERE id = $id + 1;");
	is($rc, 0, "$what: UPDATE and DELETE of the published table work") or diag($err);
}

# A. Dumped after complete, the old index renamed.
setup('a1', 'ma');
$node->safe_psql('a1', q{SET client_min_messages = error; SELECT steward.migration_complete('ma');
	ALTER INDEX acct_code_key RENAME TO acct_code_key_was;});
dump_restore('a1', 'a2');
is($node->safe_psql('a2', q{SELECT replica_identity FROM steward.migration_tables WHERE migration = 'ma'}),
	'acct_code_key', 'A: the record keeps the name start saw');
is($node->safe_psql('a2', $identity), 'i:acct_code_key1:code bigint', 'A: restored with the identity on the new key');
writes_ok('a2', 1, 'A: restored');
$node->safe_psql('a2', q{SELECT steward.migration_rollback('ma')});
is($node->safe_psql('a2', $identity), 'i:acct_code_key_was:code integer',
	'A: the rollback puts the identity back on the renamed old index');
writes_ok('a2', 3, 'A: after the rollback');

# B. Dumped before complete, the recorded index renamed.
setup('b1', 'mb');
$node->safe_psql('b1', q{ALTER INDEX acct_code_key RENAME TO acct_code_key_was});
dump_restore('b1', 'b2');
$node->safe_psql('b2', q{SET client_min_messages = error;
	SELECT count(*) FROM steward.migration_validate('mb');
	SELECT steward.migration_complete('mb');});
is($node->safe_psql('b2', $identity), 'i:acct_code_key1:code bigint',
	'B: complete moves the identity from the renamed index to the new key');
writes_ok('b2', 5, 'B: after complete');
$node->safe_psql('b2', q{SELECT steward.migration_rollback('mb')});
is($node->safe_psql('b2', $identity), 'i:acct_code_key_was:code integer', 'B: the rollback moves it back');
writes_ok('b2', 7, 'B: after the rollback');

$node->stop;
done_testing();

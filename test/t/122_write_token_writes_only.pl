# steward.write_token() names the session's last write, not any commit
# that wrote WAL (newcomer45 N4).
#
# PostgreSQL moves a session's last commit end (XactLastCommitEnd) also
# for a transaction without a transaction id that wrote WAL: a read that
# pruned a page, or the catalog reads of the session's own start.  The
# token was taken from it, so a session that had written nothing got a
# token (docs/operations.md promised NULL), and TAP 011's "NULL before any
# commit" failed now and then.  Now:
#   - a session that only read (and pruned) gets NULL;
#   - after a write, reads that prune leave the token at that write;
#   - COMMIT PREPARED (no transaction id of its own) is a write;
#   - without preloading, a write before the library's first load still
#     gives a token.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('write_token');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
max_prepared_transactions = 2
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

# Pages full of dead row versions: the next read prunes them (and writes
# WAL for it), in a transaction without a transaction id.
sub make_prunable
{
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS p;
		CREATE TABLE p (id int, pad text);
		INSERT INTO p SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;
		UPDATE p SET pad = repeat('y', 200);
	});
}

sub wal_lsn
{
	return $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
}

make_prunable();
my $before = wal_lsn();
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM p;
		SELECT steward.write_token() IS NULL}),
	"2000\nt", 'a session that only read (and pruned) has no token');
isnt(wal_lsn(), $before, '... and its read did write WAL (pruning)');

make_prunable();
my ($lsn_at_write, $tok_after_write, $tok_after_reads) = split /\n/,
  $node->safe_psql('postgres', q{
	INSERT INTO p VALUES (0, 'w');
	SELECT pg_current_wal_insert_lsn();
	SELECT steward.write_token();
	SELECT count(*) FROM p \g /dev/null
	SELECT steward.write_token();
});
like($tok_after_write, qr{^1/[0-9A-F]+/[0-9A-F]+$}, "a write gives a token: $tok_after_write");
is($tok_after_reads, $tok_after_write, 'a later read that prunes leaves the token at the write');

$node->safe_psql('postgres', q{
	BEGIN; INSERT INTO p VALUES (-1, 'prepared'); PREPARE TRANSACTION 'tok';
});
my ($tok_prepared, $after) = split /\n/, $node->safe_psql('postgres', q{
	COMMIT PREPARED 'tok';
	SELECT steward.write_token();
	SELECT pg_current_wal_insert_lsn();
});
like($tok_prepared, qr{^1/[0-9A-F]+/[0-9A-F]+$}, 'COMMIT PREPARED gives a token');
my ($tok_lsn) = $tok_prepared =~ m{^1/(.*)$};
is( $node->safe_psql('postgres',
		"SELECT '$tok_lsn'::pg_lsn > '$before'::pg_lsn AND '$tok_lsn'::pg_lsn <= '$after'::pg_lsn"),
	't', 'the COMMIT PREPARED token is that commit');
$node->stop;

# Not preloaded: the library loads at the session's first pg_steward call.
my $late = PostgreSQL::Test::Cluster->new('write_token_late');
$late->init;
$late->start;
$late->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
is( $late->safe_psql('postgres', q{
		CREATE TABLE h (id int);
		INSERT INTO h VALUES (1);
		SELECT steward.write_token() IS NOT NULL}),
	't', 'not preloaded: a write before the first load gives a token');
is( $late->safe_psql('postgres', q{
		SELECT 1 \g /dev/null
		SELECT steward.write_token() IS NULL}),
	't', 'not preloaded: a session that wrote nothing has no token');
$late->stop;

done_testing();

# steward.reset() leaves a clean slate, as pg_stat_statements_reset()
# does (closing33, "left alone" 4).
#
# Part 1: a named prepared statement (extended protocol, pgbench -M
#   prepared) of a session that lives across the reset is counted after
#   it.  Its executions start without looking their entry up (the parse
#   was earlier) and, as the last statement of an implicit transaction,
#   are counted at commit, where no text can be made: each one used to be
#   dropped, for as long as the session lived, once the reset (or an
#   eviction) had removed its entry.  Now the executions before and after
#   the reset add up to all of them, and none is dropped.
# Part 2: the reset zeroes the structures' evictions and dropped events
#   (pg_stat_statements_reset() zeroes pg_stat_statements_info.dealloc),
#   in steward.collector and in the exporter's counters.
# Part 3: a database's sums of steward-table updates and version conflicts,
#   which the history and steward.health's windows difference, never go
#   down but at a reset: a hot-rows entry taken over by another table (the
#   structure is full, steward.max_tables) and the counters of a dropped
#   table evicted for a new one keep their counts in their database's sums.
#   They used to leave with the entry: the sum went down, the history took
#   it for a reset and gave the interval every update and conflict since
#   the start (78 updates and 16 conflicts for 3 and 1), which dilutes the
#   window's version-conflict rate.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench);

my $node = PostgreSQL::Test::Cluster->new('stats_reset_prepared');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.max_statements = 100
steward.max_tables = 16
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
my $dir = PostgreSQL::Test::Utils::tempdir;

# ---------------------------------------------------------------- part 1
my $runs = 8;
append_to_file("$dir/probe.sql", "SELECT 42 AS probe75;\n\\sleep 400 ms\n");
my $bench = start_pgbench($node, 'probe', txns => $runs, scripts => ["$dir/probe.sql"],
	args => [ '-M', 'prepared' ]);
$node->poll_query_until('postgres', q{
	SELECT coalesce(sum(calls), 0) >= 2 FROM steward.statements
	 WHERE query LIKE '%probe75%'})
  or die 'the probe is not counted';
# The count before the reset is read in the reset's own statement.
my $before = $node->safe_psql('postgres', q{
	WITH b AS MATERIALIZED (
	    SELECT coalesce(sum(calls), 0) AS calls FROM steward.statements
	     WHERE query LIKE '%probe75%')
	SELECT calls FROM b, LATERAL (SELECT steward.reset()) r});
cmp_ok($before, '<', $runs, 'the reset came while the session was running');
my (undef, undef, $out) = finish_pgbench($bench, min => $runs);
like($out, qr/number of transactions actually processed: $runs\/$runs/,
	"pgbench ran $runs executions");
my $after = $node->safe_psql('postgres', q{
	SELECT coalesce(sum(calls), 0) FROM steward.statements
	 WHERE query LIKE '%probe75%'});
is($before + $after, $runs,
	'executions before and after the reset add up to all of them');
is($node->safe_psql('postgres', q{
	SELECT string_agg(query, ' | ') FROM steward.statements
	 WHERE query LIKE '%probe75%'}),
	'SELECT $1 AS probe75', 'its entry is made again with its normalized text');
is($node->safe_psql('postgres', q{
	SELECT dropped FROM steward.collector WHERE structure = 'statements'}),
	'0', 'no statement was dropped');

# ---------------------------------------------------------------- part 2
# 300 distinct statements (1 to 300 columns) in a table of 100 evict.
my $sql = '';
$sql .= 'SELECT ' . join(', ', (2) x $_) . ";\n" for 1 .. 300;
$node->safe_psql('postgres', $sql);
is($node->safe_psql('postgres', q{
	SELECT evictions > 0 FROM steward.collector WHERE structure = 'statements'}),
	't', 'statements were evicted');
$node->safe_psql('postgres', 'SELECT steward.reset()');
is($node->safe_psql('postgres', q{
	SELECT string_agg(structure || ' ' || evictions || ' ' || dropped, ', ')
	  FROM steward.collector WHERE evictions <> 0 OR dropped <> 0}),
	'', 'after the reset no structure shows evictions or dropped events');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM steward.metrics
	 WHERE metric IN ('steward_collector_evictions_total', 'steward_collector_dropped_total')
	   AND value <> 0}),
	'0', 'nor do the exporter counters');
is($node->safe_psql('postgres', q{
	SELECT string_agg(calls || ' ' || errors, ', ') FROM steward.statements
	 WHERE query = 'SELECT steward.reset()'}),
	'1 0', 'the reset is the first call of its own new entry');

# ---------------------------------------------------------------- part 3
# 16 steward tables fill hot_rows and table_counters (16 entries each):
# 5 updates and one version conflict each.
$node->safe_psql('postgres', q{
	SELECT steward.reset();
	DO $$ BEGIN FOR i IN 1 .. 16 LOOP
	    EXECUTE format('CREATE TABLE r%s (id int PRIMARY KEY, ver bigint, v int) USING steward', i);
	    PERFORM steward.track_versions(format('r%s', i)::regclass, 'ver');
	    EXECUTE format('INSERT INTO r%s VALUES (1, NULL, 0)', i);
	    FOR j IN 1 .. 5 LOOP
	        EXECUTE format('UPDATE r%s SET v = v + 1 WHERE id = 1', i);
	    END LOOP;
	    BEGIN
	        EXECUTE format('UPDATE r%s SET v = v + 1, ver = 0 WHERE id = 1', i);
	    EXCEPTION WHEN serialization_failure THEN NULL;
	    END;
	END LOOP; END $$;
	SELECT steward.take_snapshot();
});
# r1 goes; r17 takes its entries: 3 updates and one conflict.
$node->safe_psql('postgres', q{
	DROP TABLE r1;
	CREATE TABLE r17 (id int PRIMARY KEY, ver bigint, v int) USING steward;
	SELECT steward.track_versions('r17', 'ver');
	INSERT INTO r17 VALUES (1, NULL, 0);
	UPDATE r17 SET v = v + 1 WHERE id = 1;
	UPDATE r17 SET v = v + 1 WHERE id = 1;
	UPDATE r17 SET v = v + 1 WHERE id = 1;
	DO $$ BEGIN
	    UPDATE r17 SET v = v + 1, ver = 0 WHERE id = 1;
	EXCEPTION WHEN serialization_failure THEN NULL;
	END $$;
	SELECT steward.take_snapshot();
});
is($node->safe_psql('postgres', q{
	SELECT string_agg(evictions::text, ' ' ORDER BY structure) FROM steward.collector
	 WHERE structure IN ('hot_rows', 'table_counters')}),
	'1 1', 'r17 took over the entries of r1 in hot_rows and table_counters');
is($node->safe_psql('postgres', q{
	SELECT string_agg(updates || ' ' || version_conflicts, ', ' ORDER BY interval_end)
	  FROM steward.statement_history}),
	'80 16, 3 1', 'the interval holds its own 3 updates and 1 conflict, not the sums since start');

done_testing();

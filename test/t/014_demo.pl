# The demo cannot rot: examples/orders_walkthrough.sql, the SQL that
# scripts/demo.sh runs, runs here the way demo.sh runs it (psql -X
# -v ON_ERROR_STOP=1 -f -, on a cluster with pg_steward preloaded, in a
# database where the extension was just created), twice in a row, and its
# key outputs are checked: each step's sentence, the refused statements
# with their SQLSTATEs, ON CONFLICT DO NOTHING inserting nothing, the
# idempotency protocol's new / replay / mismatch, the backfill and its
# validation, verify, one differing checksum range, percentiles, health
# without a critical check, capacity and metrics.  Broken copies of the
# walkthrough must fail.

use strict;
use warnings;

use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $walkthrough = slurp_file(dirname(__FILE__) . '/../../examples/orders_walkthrough.sql');

my $node = PostgreSQL::Test::Cluster->new('demo');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION pg_steward');

# Run SQL as demo.sh does; return (exit code, stdout and stderr interleaved).
sub run_demo
{
	my ($sql) = @_;
	my $out = '';
	IPC::Run::run([ 'psql', '-X', '-d', $node->connstr('shop'),
			'-v', 'ON_ERROR_STOP=1', '-f', '-' ],
		'<', \$sql, '>&', \$out);
	return ($? >> 8, $out);
}

# The text of step N, from its sentence to the next step's.
sub step
{
	my ($out, $n) = @_;
	return $out =~ /^(== \Q$n\E\. .*?)(?=^== \d+\. |\z)/ms ? $1 : '';
}

for my $run (1, 2)
{
	my ($rc, $out) = run_demo($walkthrough);
	is($rc, 0, "run $run: the walkthrough succeeds") or diag($out);

	my @steps = ($out =~ /^== (\d+)\. \S/mg);
	is_deeply(\@steps, [ 1 .. 17 ], "run $run: 17 steps, each with its sentence");
	unlike($out, qr/^-+\n\s*\n/m, "run $run: no empty result table (void functions print nothing)");

	like(step($out, 4), qr/ERROR:  stale version for row \(order_id\)=\(\d+\) of relation "orders"\n.*\n.*\n   -> refused with SQLSTATE 40001/,
		"run $run: the stale update is refused with 40001, the error shown");
	like(step($out, 6), qr/refused with SQLSTATE 22023/, "run $run: a version that skips ahead is refused");
	like(step($out, 7), qr/first request \|\s+1 \|/, "run $run: the first request creates the order");
	like(step($out, 7), qr/retry\s+\|\s+0 \|/, "run $run: ON CONFLICT DO NOTHING: the retry creates nothing");
	like(step($out, 7), qr/exclusion constraint "orders_request_once".*refused with SQLSTATE 23P01/s,
		"run $run: a plain duplicate is refused with 23P01");
	like(step($out, 8), qr/first request \| new\s+\|/, "run $run: idempotency: new");
	like(step($out, 8), qr/retry\s+\| replay\s+\|\s+201 \| \{"order_id": \d+, "payment_id": \d+\}/,
		"run $run: idempotency: the retry replays the stored response");
	like(step($out, 8), qr/other body \| mismatch \|/, "run $run: idempotency: another body is a mismatch");
	like(step($out, 8), qr/payments_for_order\s*\n-+\n\s+1\n/, "run $run: the payment was made once");
	like(step($out, 9), qr/shipped \| t\s+\|/, "run $run: the state change stamps status_changed_at");
	like(step($out, 9), qr/illegal state transition "shipped" -> "cancelled".*refused with SQLSTATE 23514/s,
		"run $run: the illegal transition is refused with 23514");
	like(step($out, 10), qr/pending_backfill \| backfilled \|\s+4002 \|\s+0 \|\s+\d+ \| finished/,
		"run $run: run_transition backfilled all 4002 items");
	like(step($out, 10), qr/backfilled \| t\s+\|\s+0\n/, "run $run: validate passes after the backfill");
	unlike(step($out, 11), qr/\| f\s+\|/, "run $run: verify passes every check");
	like(step($out, 11), qr/index public.orders_request_once \| t/, "run $run: verify checks the steward_hash index");
	is(scalar(() = step($out, 12) =~ /^\s+\d+ \|\s+\d+ \| [0-9a-f]+ \| [0-9a-f]+$/mg), 1,
		"run $run: exactly one checksum range differs");
	like(step($out, 14), qr/SELECT order_id, status, total_amount, version FROM orders W \|\s+1000 \|/,
		"run $run: statements shows the 1000 reads with their percentiles");
	like(step($out, 15), qr/^ p99_latency_ms\s+\|/m, "run $run: health is shown");
	unlike(step($out, 15), qr/\| critical \|/, "run $run: no health check is critical");
	like(step($out, 16), qr/Retention\s+\| 30 days\s+\| 5.83 TB stored/, "run $run: the guide's capacity table");
	like(step($out, 16), qr/^ orders\s+\|/m, "run $run: steward.capacity measures orders");
	like(step($out, 17), qr/^ steward_version_conflicts_total\{database="shop",parent="public.orders",table="public.orders"\} 1$/m,
		"run $run: metrics count the one version conflict");
	like(step($out, 17), qr/^ steward_idempotency_requests_total\{database="shop",outcome="replay",scope="shop-api"\} 1$/m,
		"run $run: metrics count the replay");
}

# What the walkthrough leaves behind is healthy and consistent.
is($node->safe_psql('shop',
	"SELECT string_agg(\"check\" || '=' || status, ',') FROM steward.health WHERE status = 'critical'"),
	'', 'no health check is critical after the demo');
is($node->safe_psql('shop', "SELECT count(*) FROM steward.verify('orders') WHERE NOT passed"),
	'0', 'verify passes on orders after the demo');

# Broken walkthroughs fail: a rule that is missing (the stale update then
# succeeds), and a step that should work but does not.
(my $no_versions = $walkthrough) =~ s/^SELECT steward\.track_versions\('orders', 'version'\) \\gset$//m
  or die 'track_versions line not found';
my ($rc, $out) = run_demo($no_versions);
isnt($rc, 0, 'without version tracking the walkthrough fails');
like($out, qr/should have been refused with SQLSTATE 40001/, '... and says which refusal did not happen');

(my $typo = $walkthrough) =~ s/'data_lifecycle'/'data_lifecycle_typo'/ or die 'data_lifecycle not found';
($rc, $out) = run_demo($typo);
isnt($rc, 0, 'a step that fails stops the walkthrough with an error');
unlike($out, qr/^== 11\./m, '... before the following steps');

$node->stop;
done_testing();

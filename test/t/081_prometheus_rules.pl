# examples/monitoring/alerts.yml and its promtool unit tests.
#
# - promtool check rules accepts alerts.yml;
# - every alert has a "for:", a severity label (warning or critical), a
#   summary, a description and a first_response annotation that is the
#   guide's first response as steward.health words it (src/stats/health.sql);
# - every steward_* series an alert reads is one that
#   examples/monitoring/postgres_exporter.yml exports (a histogram's
#   _bucket/_sum/_count included), so no rule waits on a series that never
#   comes, and every label it groups, matches or selects by is one those
#   series have; the unit tests' input series have exactly the labels the
#   exporter gives them (its server label, the file's label columns, le);
# - alerts_test.yml tests every alert both firing (an expected alert at
#   some time) and resolved (no alert at a later time), and promtool test
#   rules passes it;
# - the tests can fail: with the p99 warning threshold of alerts.yml
#   raised above the synthetic latency, promtool test rules fails.
#
# run.sh may skip: promtool is not installed (scripts/setup.sh installs Debian's prometheus package, so bash .ci/run and scripts/test.sh always run this test)

use strict;
use warnings;

use Test::More;
use IPC::Run;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Basename qw(dirname);
use StewardMonitoring;

my $promtool = find_bin('promtool');
plan skip_all => 'promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)'
  unless $promtool;

my $rules = monitoring_file('alerts.yml');
my $tests = monitoring_file('alerts_test.yml');
my $families = exporter_families(monitoring_file('postgres_exporter.yml'));
my $health_sql = slurp(dirname(__FILE__) . '/../../src/stats/health.sql');

sub slurp
{
	my ($path) = @_;
	local $/;
	open(my $fh, '<', $path) or die "$path: $!";
	return scalar <$fh>;
}

sub promtool
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $promtool, @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, "$out$err");
}

my ($rc, $out) = promtool('check', 'rules', $rules);
is($rc, 0, 'promtool check rules accepts alerts.yml') or diag $out;
my ($nrules) = $out =~ /SUCCESS: (\d+) rules found/;
ok($nrules && $nrules >= 20, "alerts.yml has $nrules rules");

# The rules, read by their layout: "- alert: Name" starts one.
my (%alert, @order, $cur, $in_expr);
open(my $fh, '<', $rules) or die;
while (<$fh>)
{
	if (/^      - alert: (\w+)\s*$/) { $cur = $1; push @order, $cur; $alert{$cur} = { expr => '' }; $in_expr = 0; next; }
	next unless defined $cur;
	if (/^        expr: \|\s*$/) { $in_expr = 1; next; }
	if (/^        expr: (.*)$/) { $alert{$cur}{expr} = $1; $in_expr = 0; next; }
	if ($in_expr && /^          (.*)$/) { $alert{$cur}{expr} .= " $1"; next; }
	$in_expr = 0;
	$alert{$cur}{for} = $1 if /^        for: (\S+)/;
	$alert{$cur}{severity} = $1 if /^          severity: (\S+)/;
	$alert{$cur}{$1} = $2 if /^          (summary|description|first_response): "(.*)"\s*$/;
}
close $fh;
is(scalar(@order), $nrules, 'every rule of alerts.yml is an alert read here');

for my $name (@order)
{
	my $a = $alert{$name};
	like($a->{for} // '', qr/^\d+[smh]$/, "$name has a for:");
	like($a->{severity} // '', qr/^(warning|critical)$/, "$name has severity warning or critical");
	ok(($a->{summary} // '') ne '' && ($a->{description} // '') ne '', "$name has a summary and a description");
	my $fr = $a->{first_response} // '';
	ok($fr ne '' && index($health_sql, "'$fr") >= 0,
		"$name: first_response \"$fr\" is the guide's, as steward.health words it");
	my @series = $a->{expr} =~ /\b(steward_[a-z_]+)/g;
	ok(@series, "$name reads steward_* series");
	for my $s (@series)
	{
		my $base = $s =~ s/_(bucket|sum|count)$//r;
		ok($families->{$s} || ($families->{$base} && $families->{$base}{type} eq 'histogram'),
			"$name: $s is exported by postgres_exporter.yml");
	}
}

# The family a series name belongs to (a histogram's _bucket/_sum/_count
# belong to it), or undef.
sub family_of
{
	my ($name) = @_;
	return $name if $families->{$name};
	my $base = $name =~ s/_(bucket|sum|count)$//r;
	return $base if $families->{$base} && $families->{$base}{type} eq 'histogram';
	return undef;
}

# The labels a scraped series of that name has: the family's label columns,
# the exporter's server, le on buckets.
sub labels_of
{
	my ($name) = @_;
	my $fam = family_of($name) // return ();
	return ('server', @{ $families->{$fam}{labels} }, $name =~ /_bucket$/ ? ('le') : ());
}

# Every label an alert groups or matches by is one its series have.
for my $name (@order)
{
	my %have = map { $_ => 1 } map { labels_of($_) } $alert{$name}{expr} =~ /\b(steward_[a-z_]+)/g;
	for my $clause ($alert{$name}{expr} =~ /\b(?:by|on)\s*\(([^)]*)\)/g)
	{
		for my $l (split /\s*,\s*/, $clause =~ s/^\s+|\s+$//gr)
		{
			ok($have{$l}, "$name: label $l of by/on is a label of its series");
		}
	}
	for my $l ($alert{$name}{expr} =~ /\{([a-z_]+)=/g)
	{
		ok($have{$l}, "$name: label $l of a selector is a label of its series");
	}
}

# The unit tests' input series have the exporter's names and labels.
open($fh, '<', $tests) or die;
while (<$fh>)
{
	next unless /^      - series: '([a-z_]+)\{([^}]*)\}'/;
	my ($name, $labels) = ($1, $2);
	my @got = sort $labels =~ /([a-z_]+)="/g;
	my @want = sort(labels_of($name));
	ok(family_of($name), "alerts_test.yml: $name is exported by postgres_exporter.yml");
	is("@got", "@want", "alerts_test.yml: $name has the exporter's labels");
}
close $fh;

# The unit tests: per alert, the times it is expected to fire and to be
# quiet.
my (%fires, %quiet, $time, $alertname);
open($fh, '<', $tests) or die;
while (<$fh>)
{
	if (/^      - eval_time: (\d+)m\s*$/) { $time = $1; undef $alertname; next; }
	if (/^        alertname: (\w+)\s*$/) { $alertname = $1; next; }
	next unless defined $alertname && defined $time;
	if (/^        exp_alerts: \[\]\s*$/) { push @{ $quiet{$alertname} }, $time; next; }
	if (/^          - exp_labels:/) { push @{ $fires{$alertname} }, $time; next; }
}
close $fh;
for my $name (@order)
{
	my @f = sort { $a <=> $b } @{ $fires{$name} // [] };
	my @q = sort { $a <=> $b } @{ $quiet{$name} // [] };
	ok(@f, "alerts_test.yml makes $name fire (at " . join(', ', map { "${_}m" } @f) . ')');
	ok(@f && grep({ $_ > $f[0] } @q), "alerts_test.yml then sees $name resolved");
}
my %tested = (%fires, %quiet);
for my $name (sort keys %tested)
{
	ok($alert{$name}, "alerts_test.yml tests $name, an alert of alerts.yml");
}

($rc, $out) = promtool('test', 'rules', $tests);
is($rc, 0, 'promtool test rules passes alerts_test.yml') or diag $out;
like($out, qr/SUCCESS/, 'promtool says SUCCESS');

# Able to fail: the same tests against rules whose p99 warning threshold is
# above the synthetic 497.5 ms.
my $dir = tempdir(CLEANUP => 1);
copy($tests, "$dir/alerts_test.yml") or die;
open(my $in, '<', $rules) or die;
open(my $o, '>', "$dir/alerts.yml") or die;
my $changed = 0;
while (<$in>)
{
	$changed++ if s/^            > 0\.2$/            > 0.6/;
	print $o $_;
}
close $o;
close $in;
is($changed, 1, 'the p99 warning threshold is found once');
($rc, $out) = promtool('test', 'rules', "$dir/alerts_test.yml");
isnt($rc, 0, 'with the threshold at 600 ms the unit tests fail');
like($out, qr/alertname: StewardStatementP99LatencyHigh/, '... on StewardStatementP99LatencyHigh');

done_testing();

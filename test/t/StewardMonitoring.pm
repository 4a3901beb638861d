# Reading the monitoring examples (examples/monitoring) in TAP tests, and
# finding the Prometheus tools.  Used by 080_prometheus_exporter.pl and
# 081_prometheus_rules.pl.  The YAML files are read by their fixed layout
# (no YAML module in Debian's base perl), which the tests thereby also pin.
package StewardMonitoring;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);

our @EXPORT = qw(monitoring_file find_bin exporter_families exporter_query);

# Path of a file in examples/monitoring.
sub monitoring_file
{
	my ($name) = @_;
	my $path = dirname(__FILE__) . "/../../examples/monitoring/$name";
	die "no $path" unless -f $path;
	return $path;
}

# Full path of an installed program, or undef.
sub find_bin
{
	my ($name) = @_;
	for my $dir ((split /:/, $ENV{PATH} // ''), '/usr/bin', '/usr/sbin')
	{
		return "$dir/$name" if $dir ne '' && -x "$dir/$name";
	}
	return undef;
}

# The families a postgres_exporter queries file exports: the exporter
# names a column's series <namespace>_<column>.  Returns
# { family => { type => counter|gauge|histogram, master => 0|1,
#               labels => [label columns] } }.
sub exporter_families
{
	my ($path) = @_;
	my (%ns, $cur, $col);
	open(my $fh, '<', $path) or die "$path: $!";
	while (<$fh>)
	{
		if (/^([a-z_]+):\s*$/) { $cur = $1; $ns{$cur} = { master => 0, columns => [] }; next; }
		next unless defined $cur;
		$ns{$cur}{master} = 1 if /^  master:\s*true\s*$/;
		if (/^    - ([a-z_]+):\s*$/) { $col = $1; next; }
		if (/^        usage:\s*"([A-Z]+)"/ && defined $col)
		{
			push @{ $ns{$cur}{columns} }, [ $col, $1 ];
			undef $col;
		}
	}
	close $fh;
	my %fam;
	for my $n (keys %ns)
	{
		my @labels = map { $_->[0] } grep { $_->[1] eq 'LABEL' } @{ $ns{$n}{columns} };
		for my $c (grep { $_->[1] ne 'LABEL' } @{ $ns{$n}{columns} })
		{
			$fam{"${n}_$c->[0]"} = { type => lc $c->[1], master => $ns{$n}{master}, labels => \@labels };
		}
	}
	return \%fam;
}

# The SQL of one namespace's "query: |" block in a postgres_exporter
# queries file, as the exporter runs it.
sub exporter_query
{
	my ($path, $namespace) = @_;
	my ($cur, $in, $sql) = (undef, 0, '');
	open(my $fh, '<', $path) or die "$path: $!";
	while (<$fh>)
	{
		if (/^([a-z_]+):\s*$/) { $cur = $1; $in = 0; next; }
		next unless defined $cur && $cur eq $namespace;
		if (/^  query:\s*\|\s*$/) { $in = 1; next; }
		if ($in)
		{
			last unless /^    / || /^\s*$/;
			$sql .= substr($_, 4) if length($_) > 4;
		}
	}
	close $fh;
	die "no query of $namespace in $path" if $sql eq '';
	return $sql;
}

1;

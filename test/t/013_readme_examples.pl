# README examples are tests.
#
# Every fenced ```sql block of README.md, then of each page under docs/ in
# the order @pages declares (the README's "Documentation" table, one
# walkthrough), runs here, in that order, each in a fresh psql session of
# one database on a cluster with pg_steward preloaded (as the README tells
# users to configure it), so a later block sees what earlier blocks
# created, as a reader who follows the README and then the pages does.  A
# page under docs/ that @pages does not list fails the test, so none goes
# untested.
#
# An example may show errors on purpose, as comment lines in the block:
#     UPDATE ...;
#     -- ERROR:  <message as the server says it>   (40001)
#     -- DETAIL:  <detail>          (optional)
#     -- HINT:  <hint>              (optional)
# The SQLSTATE in parentheses is required.  The block passes when the
# server raises exactly the shown errors, in order, with the shown SQLSTATE
# and message (and DETAIL / HINT where shown; a shown text ending in "…"
# is compared as a prefix).  Any other error, a WARNING or a psql error
# fails the block.
#
# Setup that a reader already has (a role, say) may be declared in a
# page as an HTML comment, which renders as nothing and runs right before
# the next sql block, where it must succeed:
#     <!-- readme-test setup
#     CREATE ROLE app LOGIN;
#     -->
#
# The first tests check the checker itself on made-up blocks, so this test
# can fail.

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = dirname(__FILE__) . '/../..';

# The pages, in the order a reader follows them: README.md, then docs/.
# A later page's blocks may use what an earlier page's blocks created.
my @pages = qw(
  README.md
  docs/versions.md
  docs/idempotency.md
  docs/state-machines.md
  docs/governor.md
  docs/observability.md
  docs/monitoring.md
  docs/operations.md
  docs/migrations.md
  docs/relayout.md
  docs/compatibility.md
  docs/release.md
  docs/locks.md
  docs/upgrading.md
  docs/security.md
  docs/settings.md
  docs/testing.md
  docs/benchmarks.md
  docs/claims.md
);

# A page's sql blocks and setup comments, in order:
# { file => page, line => first line number, kind => 'sql' | 'setup', sql => text }
sub readme_steps
{
	my ($file) = @_;
	my @readme = split /\n/, slurp_file("$root/$file"), -1;
	my @steps;
	my $i = 0;
	while ($i < @readme)
	{
		my $line = $readme[$i];
		if ($line =~ /^\s*```\s*(\S*)\s*$/)
		{
			my ($lang, $start) = ($1, $i + 1);
			my @body;
			$i++;
			while ($i < @readme && $readme[$i] !~ /^\s*```\s*$/)
			{
				push @body, $readme[$i++];
			}
			die "$file line $start: unterminated code block\n" if $i >= @readme;
			push @steps, { file => $file, line => $start, kind => 'sql', sql => join("\n", @body) . "\n" }
			  if $lang eq 'sql';
		}
		elsif ($line =~ /^\s*<!--\s*readme-test setup\s*$/)
		{
			my $start = $i + 1;
			my @body;
			$i++;
			while ($i < @readme && $readme[$i] !~ /^\s*-->\s*$/)
			{
				push @body, $readme[$i++];
			}
			die "$file line $start: unterminated readme-test comment\n" if $i >= @readme;
			push @steps, { file => $file, line => $start, kind => 'setup', sql => join("\n", @body) . "\n" };
		}
		$i++;
	}
	return @steps;
}

# The errors a block shows on purpose: [{ sqlstate, message, detail, hint }].
# A shown ERROR without a SQLSTATE is reported through $problems.
sub expected_errors
{
	my ($sql, $problems) = @_;
	my @expected;
	for my $line (split /\n/, $sql)
	{
		if ($line =~ /^\s*--\s*ERROR:\s+(.*?)\s*$/)
		{
			my $text = $1;
			my $state;
			if ($text =~ s/\s*\((?:SQLSTATE\s+)?([0-9A-Z]{5})\)\s*$//)
			{
				$state = $1;
			}
			else
			{
				push @$problems, "shown error \"$text\" names no SQLSTATE: append it, e.g. \"   (40001)\"";
			}
			push @expected, { sqlstate => $state, message => $text };
		}
		elsif ($line =~ /^\s*--\s*(DETAIL|HINT):\s+(.*?)\s*$/ && @expected)
		{
			$expected[-1]{ lc $1 } = $2;
		}
	}
	return @expected;
}

# The errors psql reported at VERBOSITY verbose, and any other complaint.
sub actual_errors
{
	my ($stderr, $problems) = @_;
	my (@errors, $field);
	for my $line (split /\n/, $stderr)
	{
		$line =~ s/^psql:[^:]*:\d+: //;
		if ($line =~ /^ERROR:\s+([0-9A-Z]{5}): (.*)$/)
		{
			push @errors, { sqlstate => $1, message => $2 };
			$field = 'message';
		}
		elsif ($line =~ /^(DETAIL|HINT):\s+(.*)$/ && @errors && defined $field)
		{
			$field = lc $1;
			$errors[-1]{$field} = $2;
		}
		elsif ($line =~ /^(LOCATION|LINE \d+|CONTEXT|QUERY|STATEMENT|NOTICE|INFO|DETAIL|HINT|(SCHEMA|TABLE|COLUMN|DATATYPE|CONSTRAINT) NAME):/)
		{
			# context of a report, or a notice: not a failure
			$field = $1 eq 'CONTEXT' ? 'context' : undef;
		}
		elsif (defined $field && $field eq 'context' && $line !~ /^[A-Z]+:/)
		{
			# next level of a CONTEXT ("SQL statement ...", "PL/pgSQL
			# function ..."): a report from a nested call
		}
		elsif ($line =~ /^\s/ && defined $field && @errors)
		{
			# continuation line of a multi-line message, detail or hint
			$errors[-1]{$field} .= "\n" . $line;
		}
		elsif ($line =~ /\S/ && $line !~ /^\s*\^\s*$/)
		{
			push @$problems, "unexpected output on stderr: $line";
			$field = undef;
		}
	}
	return @errors;
}

sub same_text
{
	my ($shown, $actual) = @_;
	return 1 unless defined $shown;
	return 0 unless defined $actual;
	if ($shown =~ /^(.*)…$/s)
	{
		return substr($actual, 0, length($1)) eq $1;
	}
	return $shown eq $actual;
}

# Run one block; return the list of problems (empty: the block passes).
sub check_block
{
	my ($node, $db, $sql, $errors_allowed) = @_;
	my @problems;
	my ($out, $err) = ('', '');
	$node->psql($db, "\\set VERBOSITY verbose\n" . $sql,
		stdout => \$out, stderr => \$err, on_error_stop => 0);
	my @expected = expected_errors($sql, \@problems);
	my @actual = actual_errors($err, \@problems);
	@expected = () unless $errors_allowed;
	for my $n (0 .. ($#expected > $#actual ? $#expected : $#actual))
	{
		my ($e, $a) = ($expected[$n], $actual[$n]);
		if (!$a)
		{
			push @problems, "shown error not raised: $e->{message}";
		}
		elsif (!$e)
		{
			push @problems, "unexpected error $a->{sqlstate}: $a->{message}";
		}
		else
		{
			push @problems, "SQLSTATE $a->{sqlstate}, the page shows $e->{sqlstate}: $a->{message}"
			  if defined $e->{sqlstate} && $e->{sqlstate} ne $a->{sqlstate};
			for my $f (qw(message detail hint))
			{
				push @problems, "$f differs:\n  page:   $e->{$f}\n  server: "
				  . ($a->{$f} // '(none)')
				  unless same_text($e->{$f}, $a->{$f});
			}
		}
	}
	return @problems;
}

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

# The checker itself: it must fail blocks that are wrong.
$node->safe_psql('postgres', 'CREATE DATABASE checker');
is_deeply([ check_block($node, 'checker', "SELECT 1;\n", 1) ], [],
	'checker: a block that works passes');
is_deeply([ check_block($node, 'checker',
	"SELECT 1/0;\n-- ERROR:  division by zero   (22012)\n", 1) ], [],
	'checker: a shown error that is raised passes');
ok(scalar(check_block($node, 'checker', "SELECT 1/0;\n", 1)),
	'checker: an error the block does not show fails it');
ok(scalar(check_block($node, 'checker', "SELECT * FROM no_such_table;\n", 1)),
	'checker: a missing relation fails the block');
ok(scalar(check_block($node, 'checker',
	"SELECT 1/0;\n-- ERROR:  division by zero   (23505)\n", 1)),
	'checker: a wrong SQLSTATE fails the block');
ok(scalar(check_block($node, 'checker',
	"SELECT 1/0;\n-- ERROR:  divided by zero   (22012)\n", 1)),
	'checker: a wrong message fails the block');
ok(scalar(check_block($node, 'checker',
	"SELECT 1/0;\n-- ERROR:  division by zero\n", 1)),
	'checker: a shown error without SQLSTATE fails the block');
ok(scalar(check_block($node, 'checker', "SELECT 1;\n-- ERROR:  division by zero   (22012)\n", 1)),
	'checker: a shown error that is not raised fails the block');
ok(scalar(check_block($node, 'checker',
	"ALTER TABLE pg_class ADD COLUMN x int;\n-- ERROR:  permission denied…   (42501)\n"
	  . "-- HINT:  something else\n", 1)),
	'checker: a shown HINT the server does not give fails the block');
ok(scalar(check_block($node, 'checker', "\\no_such_command\n", 1)),
	'checker: a psql error fails the block');

# Every page under docs/ is in @pages, and every page of @pages exists.
my %listed = map { $_ => 1 } @pages;
my @unlisted = grep { !$listed{$_} }
  map { s{^\Q$root\E/}{}r } sort glob("$root/docs/*.md");
is(join(' ', @unlisted), '',
	'every page under docs/ is in this test\'s @pages (add it where a reader meets it)');
is(join(' ', grep { !-f "$root/$_" } @pages), '', 'every page of @pages exists');

# The README, then the pages, in order.
my @steps = map { readme_steps($_) } @pages;
cmp_ok(scalar(grep { $_->{kind} eq 'sql' && $_->{file} eq 'README.md' } @steps),
	'>=', 2, 'README.md has sql examples');
cmp_ok(scalar(grep { $_->{kind} eq 'sql' } @steps), '>=', 5, 'the pages have sql examples');
$node->safe_psql('postgres', 'CREATE DATABASE readme');
for my $step (@steps)
{
	my ($first) = grep { /\S/ } split /\n/, $step->{sql};
	$first //= '';
	$first =~ s/^\s+//;
	my @problems = check_block($node, 'readme', $step->{sql}, $step->{kind} eq 'sql');
	ok(!@problems, "$step->{file} line $step->{line} ($step->{kind}): "
		  . substr($first, 0, 60))
	  or diag(join("\n", @problems));
}

$node->stop;
done_testing();

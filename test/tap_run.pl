# Run TAP test files one at a time and count them honestly (used by
# test/run.sh; not a test itself).
#
#   perl test/tap_run.pl LOGDIR -I dir ... -- file.pl ...
#
# Each file runs in its own perl process, so a BAIL_OUT in one file ends
# that file only and every other file still runs.  Its output (stdout and
# stderr merged) is copied to our stdout and to LOGDIR/<file>.log, and
# parsed with TAP::Parser:
#   - every "ok" assertion counts as one pass, every "not ok" as one
#     failure (a TODO "not ok" too: nothing here is allowed to be known
#     broken), an "ok # skip" as one skip, listed with its reason;
#   - on top of that, a file counts as one more failure, once, when it
#     bailed out, had no plan or ran a different number of tests than
#     planned (it died part way), produced unparsable TAP, or exited
#     non-zero without any failed assertion to explain it;
#   - a file that skips entirely ("1..0 # SKIP ...") is a failure unless the
#     file declares it with a line "# run.sh may skip: <why>"; a declared
#     skip counts as one skip and both reasons are printed.
# The last line is "TAP: N passed, N failed, N skipped"; run.sh adds it to
# the other families' counts.
use strict;
use warnings;
use TAP::Parser;
use Time::HiRes qw(time);
use File::Basename qw(basename);

my $logdir = shift @ARGV or die "usage: tap_run.pl LOGDIR -I dir ... -- file ...\n";
my @inc;
while (@ARGV && $ARGV[0] ne '--')
{
	my $opt = shift @ARGV;
	die "unexpected argument $opt\n" unless $opt eq '-I' && @ARGV;
	push @inc, '-I', shift @ARGV;
}
shift @ARGV if @ARGV && $ARGV[0] eq '--';
my @files = @ARGV;

my ($passed, $failed, $skipped) = (0, 0, 0);
my @summary;
$| = 1;

foreach my $file (@files)
{
	my $t0 = time;
	my ($p, $f, $s) = (0, 0, 0);
	my @problems;
	my @skips;

	my $declared;
	if (open(my $src, '<', $file))
	{
		while (<$src>)
		{
			if (/^#\s*run\.sh may skip:\s*(\S.*)$/) { $declared = $1; last; }
		}
		close $src;
	}
	else
	{
		push @problems, "cannot read the file: $!";
	}

	my $log = "$logdir/" . basename($file) . '.log';
	open(my $lfh, '>', $log) or die "cannot write $log: $!\n";
	print "--- $file\n";
	my $parser = TAP::Parser->new({ exec => [ $^X, @inc, $file ], merge => 1 });
	my $bailed;
	while (my $r = $parser->next)
	{
		my $line = $r->as_string;
		print $line, "\n";
		print $lfh $line, "\n";
		if ($r->is_test)
		{
			if ($r->has_skip)
			{
				$s++;
				push @skips, 'skipped assertion ' . $r->number . ': ' . ($r->explanation || 'no reason given');
			}
			elsif ($r->is_actual_ok)
			{
				$p++;
			}
			else
			{
				$f++;
				push @problems, 'not ok ' . $r->number . ' ' . ($r->description // '');
			}
		}
		elsif ($r->is_bailout)
		{
			$bailed = $r->explanation;
		}
	}
	close $lfh;

	my $file_problem;
	if ($parser->skip_all)
	{
		if (defined $declared)
		{
			$s++;
			push @skips, 'whole file skipped: ' . $parser->skip_all . " (declared: $declared)";
		}
		else
		{
			$file_problem = 'skipped entirely without a "# run.sh may skip:" declaration: '
			  . $parser->skip_all;
		}
	}
	elsif (defined $bailed)
	{
		$file_problem = "bailed out: $bailed";
	}
	elsif (!$parser->plan)
	{
		$file_problem = 'no plan (the file died before done_testing)';
	}
	elsif ($parser->tests_planned != $parser->tests_run)
	{
		$file_problem = sprintf('planned %d tests but ran %d', $parser->tests_planned,
			$parser->tests_run);
	}
	elsif ($parser->parse_errors)
	{
		$file_problem = 'TAP parse errors: ' . join('; ', $parser->parse_errors);
	}
	elsif (($parser->exit || $parser->wait) && $f == 0)
	{
		$file_problem = sprintf('exited with status %d (wait %d) although no assertion failed',
			$parser->exit, $parser->wait);
	}
	if (defined $file_problem)
	{
		$f++;
		push @problems, $file_problem;
	}
	elsif (!$parser->skip_all && $p + $s == 0)
	{
		$f++;
		push @problems, 'ran no assertion';
	}

	$passed += $p;
	$failed += $f;
	$skipped += $s;
	push @summary,
	  sprintf("%-7s %-40s %4d passed, %d failed, %d skipped  (%.1f s)",
		$f ? 'FAILED' : 'ok', $file, $p, $f, $s, time - $t0);
	push @summary, map { "          $_" } @problems, @skips;
}

print "=== TAP files\n", map { "$_\n" } @summary;
print "TAP: $passed passed, $failed failed, $skipped skipped\n";

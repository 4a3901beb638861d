# Helpers shared by pg_steward's TAP tests (test/run.sh puts test/t on
# perl's @INC).
package StewardTest;

use strict;
use warnings;
use Exporter 'import';
use Time::HiRes qw(time usleep);

our @EXPORT = qw(poll_until);

# poll_until($node, $db, $query, $secs [, $interval_ms]): run $query in
# database $db of $node until it returns 't', for at most $secs seconds,
# every $interval_ms (default 100) milliseconds; 1 if it did, else 0.
# Unlike the core's poll_query_until, the query may be a script: a SET
# (search_path, role) may come before the SELECT, since only the last
# statement's output counts.
sub poll_until
{
	my ($node, $db, $query, $secs, $interval_ms) = @_;
	my $deadline = time + $secs;

	while (time < $deadline)
	{
		return 1 if $node->safe_psql($db, $query) eq 't';
		usleep(($interval_ms // 100) * 1000);
	}
	return 0;
}

1;

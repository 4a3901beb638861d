# Helpers shared by pg_steward's TAP tests (test/run.sh puts test/t on
# perl's @INC).
package StewardTest;

use strict;
use warnings;
use Exporter 'import';
use Time::HiRes qw(time usleep);

our @EXPORT = qw(poll_until damage_first_page);

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

# damage_first_page($node, $relation, $edit): overwrite bytes of the
# first page of $relation (database postgres) on disk, the server stopped
# after a checkpoint and started again after.  $edit->(\$page, @offsets)
# changes the 8 kB page in place; @offsets are the byte offsets of its
# tuples (line pointers 1, 2, ...).
sub damage_first_page
{
	my ($node, $relation, $edit) = @_;
	my $path = $node->safe_psql('postgres', qq{SELECT pg_relation_filepath('$relation')});

	$node->safe_psql('postgres', 'CHECKPOINT');
	$node->stop;
	my $file = $node->data_dir . '/' . $path;
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read of $file";
	my @offsets;
	# line pointers from the end of the page header to pd_lower
	for (my $lp = 24; $lp < unpack('v', substr($page, 12, 2)); $lp += 4)
	{
		push @offsets, unpack('V', substr($page, $lp, 4)) & 0x7fff;
	}
	$edit->(\$page, @offsets);
	sysseek($fh, 0, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write of $file";
	close($fh);
	$node->start;
	return;
}

1;

# Helpers shared by pg_steward's TAP tests (test/run.sh puts test/t on
# perl's @INC).
package StewardTest;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);
use Test::More;

our @EXPORT = qw(poll_until damage_first_page streaming_standby restore_three_ways);
our @EXPORT_OK = qw(start_bg finish_bg psql_command start_psql_bg start_pgbench
  finish_pgbench check_lookups verify_clean steward_drill gov_foreground
  gov_baseline_calls gov_wait_for_baseline gov_long_batch_job gov_node gov_end_job
  gov_plain_psql gov_job_pid gov_obedient_job gov_greedy_job cpu_ms_per_s);

# start_bg(@command): start @command in the background, its stdin empty,
# its stdout and stderr in files of a temporary directory, under the
# TAP framework's default timeout.  Returns {h => the IPC::Run harness,
# out => stdout's file, err => stderr's file}.
my ($bg_dir, $nbg);

sub start_bg
{
	my (@args) = @_;
	$bg_dir //= PostgreSQL::Test::Utils::tempdir;
	$nbg++;
	my %bg = (out => "$bg_dir/bg$nbg.out", err => "$bg_dir/bg$nbg.err");
	$bg{h} = IPC::Run::start([@args], '<', \undef, '>', $bg{out}, '2>', $bg{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%bg;
}

# finish_bg($bg): wait for a start_bg command to end (its timeout
# applying); returns (its exit code, its stdout, its stderr).
sub finish_bg
{
	my ($bg) = @_;
	$bg->{h}->finish;
	return ($bg->{h}->result(0), slurp_file($bg->{out}), slurp_file($bg->{err}));
}

# start_pgbench($node, $name, %opt): pgbench -n against a database
# of $node in the background, its stdout and stderr in files (a full pipe
# would stall it), without a timeout of its own (-T or -t bounds it; a
# crash test stops the server under it).  %opt: secs (-T) or txns (-t,
# per client), one of them required; scripts (the -f arguments,
# "file\@weight" allowed), clients (-c, default 1), jobs (-j, default 1),
# user (-U), options (PGOPTIONS, e.g. "-c search_path=s,public"), args
# (more pgbench arguments: --max-tries, -l, -M, -D), db (the database,
# default postgres).  Returns {h => the IPC::Run harness, name => $name,
# out => stdout's file, err => stderr's file}, for finish_pgbench.
sub start_pgbench
{
	my ($node, $name, %opt) = @_;
	defined $opt{secs} || defined $opt{txns}
	  or die "start_pgbench $name: secs or txns is required";
	$bg_dir //= PostgreSQL::Test::Utils::tempdir;
	$nbg++;
	my %run = (name => $name, out => "$bg_dir/pgbench$nbg.out", err => "$bg_dir/pgbench$nbg.err");
	local $ENV{PGOPTIONS} = $opt{options} if defined $opt{options};
	$run{h} = IPC::Run::start(
		[
			'pgbench', '-n', '-c', $opt{clients} // 1, '-j', $opt{jobs} // 1,
			(defined $opt{secs} ? ('-T', $opt{secs}) : ('-t', $opt{txns})),
			(map { ('-f', $_) } @{ $opt{scripts} // [] }),
			@{ $opt{args} // [] }, (defined $opt{user} ? ('-U', $opt{user}) : ()),
			$node->connstr($opt{db} // 'postgres')
		],
		'<', \undef, '>', $run{out}, '2>', $run{err});
	return \%run;
}

# finish_pgbench($run [, %opt]): wait for a start_pgbench run to end and
# assert, one assertion each: it exited 0; no client aborted or got an
# ERROR; none of its transactions failed; it ran at least min (default 1)
# transactions.  failures_ok => 1 leaves out the third and ERRORs (a test
# of serialization failures counts them itself).  aborted => 1 is for a
# run the test makes fail (the server stopped under it, a statement that
# raises): it asserts instead that pgbench exited 2 ("Run was aborted")
# and that its clients were aborted.  stop => 1 is for a run the test
# ends itself (a foreground kept up until the test is done with it): it
# asserts that pgbench is still running, ends it (SIGTERM), and asserts
# that it died of that signal and that no client aborted or got an ERROR
# before.  Returns (transactions processed, failed, stdout, stderr).
sub finish_pgbench
{
	my ($run, %opt) = @_;
	my $name = $run->{name};
	if ($opt{stop})
	{
		ok($run->{h}->pumpable, "$name: pgbench is still running when the test ends it");
		$run->{h}->signal('TERM');
	}
	$run->{h}->finish;
	my $out = slurp_file($run->{out});
	my $err = slurp_file($run->{err});
	note "pgbench $name:\n$out";
	note "pgbench $name stderr (first lines):\n"
	  . join("\n", grep { defined } (split /\n/, $err)[ 0 .. 9 ]);
	my ($done)   = $out =~ /number of transactions actually processed: (\d+)/;
	my ($failed) = $out =~ /number of failed transactions: (\d+)/;
	if ($opt{aborted})
	{
		is(scalar($run->{h}->full_result(0)), 2 << 8, "$name: pgbench exits 2 (the run was aborted)")
		  or diag $err;
		like($err, qr/aborted/, "$name: its clients were aborted");
		return ($done // 0, $failed // 0, $out, $err);
	}
	if ($opt{stop})
	{
		is(scalar($run->{h}->full_result(0)) & 127, 15, "$name: pgbench ended by the test's SIGTERM")
		  or diag $err;
		unlike($err, qr/aborted|ERROR/, "$name: no client aborted or got an ERROR") or diag $err;
		return ($done // 0, $failed // 0, $out, $err);
	}
	is(scalar($run->{h}->full_result(0)), 0, "$name: pgbench exits 0") or diag $err;
	if ($opt{failures_ok})
	{
		unlike($err, qr/aborted/, "$name: no client aborted") or diag $err;
	}
	else
	{
		unlike($err, qr/aborted|ERROR/, "$name: no client aborted or got an ERROR") or diag $err;
		is($failed // 'none', 0, "$name: zero failed transactions") or diag "$out\n$err";
	}
	my $min = $opt{min} // 1;
	cmp_ok($done // 0, '>=', $min, "$name: pgbench ran at least $min transactions") or diag $out;
	return ($done // 0, $failed // 0, $out, $err);
}

# check_lookups($node, $table, $index, $cols, %opt): every row of $table
# (database postgres) that a sequential scan reads is found through $index
# (@$cols, its key columns) by a lookup of its own key, exactly once, and
# nothing else is.  %opt: rows (required: how many rows $table holds, as the
# caller knows it from what it wrote), mode ('index', the default, or
# 'bitmap': the scan the lookups must use), sample (n: look up only the keys
# whose hash is 0 mod n, to keep a bitmap pass short; default 1, every key),
# label.  Five assertions, each against a stated value: the plan (a nested
# loop with a $mode scan of $index); the rows the sequential scan reads
# ($rows; with a sample, at least half of $rows / n); the rows the lookups
# return (as many as were looked up); none missing; none extra.
sub check_lookups
{
	my ($n, $table, $index, $cols, %opt) = @_;
	my $rows   = $opt{rows} // die "check_lookups $table: rows is required";
	my $mode   = $opt{mode} // 'index';
	my $sample = $opt{sample} // 1;
	my $label  = $opt{label} // $table;
	my $collist = join(', ', @$cols);
	my $tcols = join(', ', map { "t.$_" } @$cols);
	my $cond = join(' AND ', map { "t.$_ = p.$_" } @$cols);
	# Sample by key, so that every row sharing a sampled key is in the set.
	my $where = $sample > 1 ? "WHERE hashtext(ROW($collist)::text) % $sample = 0" : '';
	my $force = q{SET enable_seqscan = off; SET enable_hashjoin = off;
	              SET enable_mergejoin = off; SET enable_material = off;
	              SET enable_tidscan = off;}
	  . ($mode eq 'index' ? 'SET enable_bitmapscan = off;' : 'SET enable_indexscan = off;');
	# One lookup per distinct key, so that the lookups must return each row
	# exactly once: EXCEPT ALL below catches a row returned twice.
	my $join = "SELECT t.ctid AS tid, $tcols FROM chk_keys p JOIN $table t ON $cond";

	$n->safe_psql(
		'postgres', qq{
		DROP TABLE IF EXISTS chk_seq, chk_keys, chk_idx;
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		CREATE TABLE chk_seq AS SELECT ctid AS tid, $collist FROM $table $where;
		CREATE TABLE chk_keys AS SELECT DISTINCT $collist FROM chk_seq;
		ANALYZE chk_seq, chk_keys;});
	my $scan = $mode eq 'index'
	  ? qr/Index Scan using $index on $table t/
	  : qr/Bitmap Index Scan on $index/;
	like($n->safe_psql('postgres', "$force EXPLAIN (COSTS OFF) $join"),
		qr/Nested Loop.*$scan/s,
		"$label: lookups through $index use a nested loop with " . ($mode eq 'index' ? 'an index scan' : 'a bitmap scan'));
	$n->safe_psql('postgres', "$force CREATE TABLE chk_idx AS $join");
	my ($nseq, $nidx, $missing, $extra) = split /\|/, $n->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM chk_seq), (SELECT count(*) FROM chk_idx),
		       (SELECT count(*) FROM (SELECT * FROM chk_seq EXCEPT ALL SELECT * FROM chk_idx) x),
		       (SELECT count(*) FROM (SELECT * FROM chk_idx EXCEPT ALL SELECT * FROM chk_seq) y)});
	if ($sample > 1)
	{
		my $least = int($rows / $sample / 2);
		cmp_ok($nseq, '>=', $least,
			"$label: the sample of $table (hash 0 mod $sample) holds at least $least of its $rows rows");
	}
	else
	{
		is($nseq, $rows, "$label: a sequential scan of $table reads its $rows rows");
	}
	is($nidx, $nseq, "$label: $mode lookups through $index return $nseq rows, one per row looked up");
	is($missing, 0, "$label: $mode lookups through $index find all $nseq rows");
	is($extra, 0, "$label: $mode lookups through $index return only rows with that key");
	$n->safe_psql('postgres', 'DROP TABLE chk_seq, chk_keys, chk_idx');
}

# verify_clean($node, $label, @indexes): one assertion per index that
# steward.verify_index() finds no problem in it (database postgres); it
# returns one row per problem, so the output is compared with ''.
sub verify_clean
{
	my ($node, $label, @indexes) = @_;
	foreach my $idx (@indexes)
	{
		is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('$idx')"),
			'', "$label: verify_index('$idx') returns zero rows");
	}
}

# steward_drill($node, $db, @args): run steward-drill against $node as
# the OS user (the cluster's superuser), recording into database $db, with
# more arguments @args, under the TAP framework's default timeout; its
# exit status and output go to the test log.  Returns (exit status,
# stdout, stderr).
sub steward_drill
{
	my ($node, $db, @args) = @_;
	my ($out, $err) = ('', '');
	my $start = time;
	IPC::Run::run(
		[
			'steward-drill', '-h', $node->host, '-p', $node->port,
			'-U', scalar(getpwuid($>)), '-d', $db, @args
		],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $rc = $? >> 8;
	note sprintf("steward-drill exit %d after %.1f s\nstdout:\n%s\nstderr:\n%s",
		$rc, time - $start, $out, $err);
	return ($rc, $out, $err);
}

# psql_command($connstr): the command line of a psql session of $connstr
# for start_bg, options (-c, -f) to follow: no psqlrc, unaligned tuples
# only, stopping at the first error (exit code 3).
sub psql_command
{
	my ($connstr) = @_;
	return ('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $connstr);
}

# start_psql_bg($node, $db, $appname, $sql): start_bg of a psql session of
# database $db of $node, application_name $appname, running script $sql
# from a file: each statement is a query of its own (pg_stat_activity's
# query and query_id are those of the statement running), unlike -c, which
# sends the script as one query.
sub start_psql_bg
{
	my ($node, $db, $appname, $sql) = @_;
	$bg_dir //= PostgreSQL::Test::Utils::tempdir;
	my $file = "$bg_dir/bg" . (($nbg // 0) + 1) . ".sql";
	append_to_file($file, $sql);
	return start_bg(psql_command($node->connstr($db) . " application_name=$appname"), '-f', $file);
}

# gov_foreground($node, $secs): a foreground of 200 statements a second
# (SELECT 1) in database postgres for $secs seconds, as one pgbench
# client in the background (start_bg).
sub gov_foreground
{
	my ($node, $secs) = @_;
	my $script = $node->basedir . '/gov_foreground.sql';
	PostgreSQL::Test::Utils::append_to_file($script, "SELECT 1;\n") unless -e $script;
	return start_bg('pgbench', '-n', '-c', '1', '-R', '200', '-T', $secs,
		'-f', $script, $node->connstr('postgres'));
}

# gov_baseline_calls($node): the statements in the governor's baseline
# now (steward.governor.baseline_calls, 0 when none).
sub gov_baseline_calls
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		q{SELECT coalesce(baseline_calls, 0) FROM steward.governor});
}

# poll_until($node, $db, $query, $secs [, $interval_ms]): run $query in
# database $db of $node until it returns 't', for at most $secs seconds,
# every $interval_ms (default 100) milliseconds; 1 if it did, else 0.
# Unlike the core's poll_query_until, the query may be a script: a SET
# (search_path, role) may come before the SELECT, since only the last
# statement's output counts.
# The $secs count the time the machine ran: a poll that took longer than
# $poll_stall_s (a query of a poll takes well under a second, a few on a
# loaded machine) was the machine frozen (CI shares it with a benchmark
# whose freezer stops every process, the server's too, for minutes), and
# its length is added to the deadline, up to $poll_stall_max_s in all: a
# poll asks what the server did in $secs of its own time, not whether a
# freeze outlasted it (closing41: TAP 008's purge "not done" 279.8 s
# after a poll of 30 s began, the worker frozen for 279 s of it).
our $poll_stall_s     = 10;
our $poll_stall_max_s = 900;

sub poll_until
{
	my ($node, $db, $query, $secs, $interval_ms) = @_;
	my $deadline = time + $secs;
	my $frozen   = 0;

	while (1)
	{
		my $sleep_s = ($interval_ms // 100) / 1000;
		my $t       = time;
		return 1 if $node->safe_psql($db, $query) eq 't';
		usleep($sleep_s * 1_000_000);
		my $took = time - $t - $sleep_s;
		if ($took > $poll_stall_s && $frozen < $poll_stall_max_s)
		{
			note sprintf('poll_until: one poll took %.1f s (a frozen machine); not counted', $took);
			$frozen   += $took;
			$deadline += $took;
		}
		return 0 if time >= $deadline;
	}
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

# gov_wait_for_baseline($node, $calls, $secs): polls
# gov_baseline_calls($node) once a second until it reaches $calls, for
# at most $secs seconds; returns the last value read.  Polled, not read
# once: the baseline is the newest run of idle ticks of one load, and a
# late tick of a loaded machine (pgbench catching up) may start a new run.
sub gov_wait_for_baseline
{
	my ($node, $want, $secs) = @_;
	my ($calls, $deadline) = (0, time + $secs);

	while (time < $deadline)
	{
		$calls = gov_baseline_calls($node);
		last if $calls >= $want;
		sleep 1;
	}
	return $calls;
}

# streaming_standby($primary, $name): a hot standby called $name, streaming
# from $primary through a physical replication slot of the same name,
# started.  The slot is created reserving WAL before the base backup is
# taken, so the primary keeps every WAL segment the standby has not yet
# received: across a checkpoint, and across an immediate stop of the
# primary, whose end-of-recovery checkpoint otherwise removes the segment
# the standby is in when its walreceiver was not connected in time (it asks
# for the whole segment), after which wait_for_catchup can only time out.
# A test that writes on after stopping the standby for good drops the slot
# (pg_drop_replication_slot), or the primary keeps all its WAL from there.
sub streaming_standby
{
	my ($primary, $name) = @_;

	$primary->safe_psql('postgres',
		"SELECT pg_create_physical_replication_slot('$name', true)");
	$primary->backup("${name}_base");
	my $standby = PostgreSQL::Test::Cluster->new($name);
	$standby->init_from_backup($primary, "${name}_base", has_streaming => 1);
	$standby->append_conf('postgresql.conf', "primary_slot_name = '$name'");
	$standby->start;
	return $standby;
}

# restore_three_ways($node, $src, $query, $expected): dump database $src
# of $node as a plain script and in the custom format, restore them into
# new databases plain (psql, ON_ERROR_STOP), whole (pg_restore
# --single-transaction --exit-on-error) and par (pg_restore -j 2
# --exit-on-error), and check that each restores without an error and
# that $query gives $expected in each.  Returns psql's stderr of the plain
# restore (its WARNINGs).  Nine assertions.
sub restore_three_ways
{
	my ($node, $src, $query, $expected) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir;

	$node->command_ok([ 'pg_dump', '-d', $node->connstr($src), '-f', "$dir/p.sql" ], 'plain dump');
	$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($src), '-f', "$dir/all.dump" ], 'custom-format dump');

	$node->safe_psql('postgres', 'CREATE DATABASE plain');
	my ($ret, $out, $err) = $node->psql('plain', undef,
		extra_params => [ '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/p.sql" ]);
	is($ret, 0, 'the plain dump restores with ON_ERROR_STOP');
	unlike($err, qr/ERROR/, 'no error');
	is($node->safe_psql('plain', $query), $expected, 'plain restore: the same');

	$node->safe_psql('postgres', 'CREATE DATABASE whole');
	$node->command_ok(
		[ 'pg_restore', '--single-transaction', '--exit-on-error', '-d', $node->connstr('whole'), "$dir/all.dump" ],
		'pg_restore --single-transaction --exit-on-error');
	is($node->safe_psql('whole', $query), $expected, 'single-transaction restore: the same');

	$node->safe_psql('postgres', 'CREATE DATABASE par');
	$node->command_ok(
		[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('par'), "$dir/all.dump" ],
		'pg_restore -j 2 --exit-on-error');
	is($node->safe_psql('par', $query), $expected, 'parallel restore: the same');
	return $err;
}

# gov_node($name): a started cluster for the governor's work tests: pg_steward
# preloaded and created, autovacuum off, a tick of 1 s, a window of 5 s,
# governor_min_calls 200 (the tests' own polling is no foreground, only
# gov_foreground's 200 statements a second, 1,000 a window; on a loaded
# machine fewer, so tests wait for a usable baseline, 200 calls, not for
# 1,000), and a login role plain.
sub gov_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
autovacuum = off
steward.governor_interval = '1s'
steward.governor_window = '5s'
steward.governor_min_calls = 200
});
	$node->start;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION pg_steward;
		CREATE ROLE plain LOGIN;
	});
	return $node;
}

# gov_plain_psql($node, $script): start_bg of a psql session of the login
# role plain (gov_node makes it) in database postgres, running $script as
# one query (-c).
sub gov_plain_psql
{
	my ($node, $script) = @_;
	return start_bg(psql_command($node->connstr('postgres') . ' user=plain'), '-c', $script);
}

# gov_job_pid($node, $label): the backend pid of the governed job $label
# that has not finished ('' when none).
sub gov_job_pid
{
	my ($node, $label) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT pid FROM steward.governor_jobs WHERE label = '$label' AND finished_at IS NULL});
}

# gov_obedient_job($node, $label, $per_row [, $max_rows_per_sec]): a
# governed job of role plain (gov_plain_psql) that obeys governor_pace:
# batches of at most 100 rows (at most $max_rows_per_sec rows a second
# when given), each spending CPU on generate_series(1, $per_row x its
# rows), over and over.
sub gov_obedient_job
{
	my ($node, $label, $per_row, $max_rows_per_sec) = @_;
	my $begin = "'backfill', '$label', 100"
	  . (defined $max_rows_per_sec ? ", $max_rows_per_sec" : '');
	return gov_plain_psql($node,
		qq{DO \$\$DECLARE
		     j bigint := steward.governor_begin($begin);
		     n int;
		     moved int := 0;
		   BEGIN
		     LOOP
		       n := steward.governor_pace(j, moved);
		       moved := n;
		       IF n > 0 THEN
		         PERFORM count(*) FROM generate_series(1, $per_row * n);
		       END IF;
		     END LOOP;
		   END\$\$});
}

# gov_greedy_job($node, $label, $burn, $sleep): a governed job of role
# plain (gov_plain_psql) that asks governor_pace once (with no foreground
# it is handed a whole batch: state working until its next pace, which
# never comes), then spends generate_series(1, $burn) on a CPU and sleeps
# $sleep s, over and over.
sub gov_greedy_job
{
	my ($node, $label, $burn, $sleep) = @_;
	return gov_plain_psql($node,
		qq{SELECT steward.governor_pace(steward.governor_begin('backfill', '$label'), 0) > 0;
		   DO \$\$BEGIN
		     FOR i IN 1 .. 100000 LOOP
		       PERFORM count(*) FROM generate_series(1, $burn);
		       PERFORM pg_sleep($sleep);
		     END LOOP;
		   END\$\$});
}

# cpu_ms_per_s($pid, $secs): the milliseconds a second process $pid spends
# on a CPU over the next $secs seconds (/proc/<pid>/schedstat: Linux; a
# test checks that it is readable first).
sub cpu_ms_per_s
{
	my ($pid, $secs) = @_;
	my ($c0) = split ' ', slurp_file("/proc/$pid/schedstat");
	my $t0 = time;
	sleep $secs;
	my ($c1) = split ' ', slurp_file("/proc/$pid/schedstat");
	return ($c1 - $c0) / 1e6 / (time - $t0);
}

# gov_end_job($node, $label, $bg): terminate the running governed job
# $label's backend and reap its psql $bg (start_bg), which may have
# outlived its harness timer on a machine frozen meanwhile.
sub gov_end_job
{
	my ($node, $label, $bg) = @_;
	my $p = gov_job_pid($node, $label);
	$node->safe_psql('postgres', qq{SELECT pg_terminate_backend($p)}) if $p;
	eval { $bg->{h}->finish; };
	$bg->{h}->kill_kill if $@;
}

# gov_long_batch_job($node, $user, $label, $first_s, $burn, $sleep): a
# governed job of role $user (database postgres, in the background:
# start_bg) that obeys governor_pace and does long batches: its first
# lasts $first_s seconds, each later one 120 s, each spending CPU on
# generate_series(1, $burn) and sleeping $sleep s, over and over.  Its work
# counts for twice its longest batch before (src/governor/README.md, Only
# while it keeps to its pace): so from its second batch on, 2 x $first_s
# seconds (at most 60).  $later, when given, is what each later batch does over and over
# instead (PL/pgSQL statements).
sub gov_long_batch_job
{
	my ($node, $user, $label, $first_s, $burn, $sleep, $later) = @_;
	my $step = "PERFORM count(*) FROM generate_series(1, $burn);
		         PERFORM pg_sleep($sleep);";
	$later //= $step;
	return start_bg('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('postgres') . " user=$user", '-c',
		qq{DO \$\$DECLARE
		     j bigint := steward.governor_begin('backfill', '$label');
		     n int;
		     moved int := 0;
		     t0 timestamptz;
		     b int := 0;
		   BEGIN
		     LOOP
		       n := steward.governor_pace(j, moved);
		       moved := 0;
		       CONTINUE WHEN n = 0;
		       b := b + 1;
		       t0 := clock_timestamp();
		       WHILE b = 1 AND clock_timestamp() < t0 + interval '$first_s s' LOOP
		         $step
		       END LOOP;
		       WHILE b > 1 AND clock_timestamp() < t0 + interval '120 s' LOOP
		         $later
		       END LOOP;
		       moved := 1;
		     END LOOP;
		   END\$\$});
}

1;

# A write nested in a migration's up (a function of the owner's writing
# into its own table) that found the dual-write trigger's cache entry
# invalidated rebuilt it, freeing the expressions the outer write was
# still evaluating: the backend died of SIGSEGV and the postmaster
# restarted every session (mig14 M5).  The relcache message can be the
# up's own ANALYZE, or a concurrent one's (autovacuum's, another
# session's) read when the nested write locks the table.  Now the old
# entry is kept until the transaction ends: both writes succeed and the
# rows carry both shapes.  (On the old code the first case reaches the
# same free without a visible effect here, the freed memory reused with
# the same contents; the second dies.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(poll_until start_psql_bg finish_bg);

my $node = PostgreSQL::Test::Cluster->new('m127');
$node->init;
# restart_after_crash: a backend that dies restarts the server (as in
# production) instead of stopping it, so that the checks below say so.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_steward'\nautovacuum = off\nrestart_after_crash = on");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE uf (id bigint PRIMARY KEY, amt int NOT NULL) USING steward;
	INSERT INTO uf SELECT g, g FROM generate_series(1, 5) g;
	CREATE TABLE uf_codes (code int);
	-- up of amt: for 1000, analyzes its table (a relcache message) and
	-- writes a row of its own; for 2000, waits for advisory lock 42 (held
	-- by a session that analyzes meanwhile), reads another table (a lookup,
	-- whose lock reads the message) and writes a row.
	CREATE FUNCTION uf_up(a int) RETURNS text LANGUAGE plpgsql AS $$
	BEGIN
	    IF a = 1000 THEN
	        ANALYZE public.uf;
	        INSERT INTO public.uf (id, amt) VALUES (-a, 7);
	    ELSIF a = 2000 THEN
	        PERFORM pg_advisory_lock(42);
	        PERFORM pg_advisory_unlock(42);
	        -- locking a table not locked yet reads the messages
	        PERFORM 1 FROM public.uf_codes;
	        INSERT INTO public.uf (id, amt) VALUES (-a, 7);
	    END IF;
	    RETURN 'v' || a;
	END $$;
	-- uf_up, VOLATILE as it writes, is refused in an up (upvol49, below);
	-- one declared STABLE is taken at its word and may call it.
	CREATE FUNCTION uf_up_s(a int) RETURNS text LANGUAGE plpgsql STABLE
	    AS 'BEGIN RETURN public.uf_up(a); END';
});

# The VOLATILE function itself is refused at start (22023, upvol49).
my ($vret, undef, $verr) = $node->psql('postgres', q{
	SELECT steward.migration_start('ufv', $m$[
	  {"add_column": {"table": "uf", "column": "v", "type": "text", "up": "uf_up(amt)"}}]$m$)});
isnt($vret, 0, 'an up calling the VOLATILE uf_up is refused');
like($verr, qr/it uses public\.uf_up\(integer\), declared VOLATILE/, 'the refusal names uf_up');

$node->safe_psql('postgres', q{
	SELECT steward.migration_start('ufm', $m$[
	  {"add_column": {"table": "uf", "column": "s", "type": "text",
	                  "up": "uf_up_s(amt) || '-a constant that lives in the expression'"}},
	  {"add_column": {"table": "uf", "column": "t", "type": "text",
	                  "up": "'another constant of the expression-' || amt"}}]$m$);
});

# A backend that dies takes every other process with it: the postmaster
# restarts them all, the checkpointer too (pg_postmaster_start_time()
# stays as it was), so another checkpointer pid at the end means a crash.
my $checkpointer_sql = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'};
my $checkpointer = $node->safe_psql('postgres', $checkpointer_sql);
like($checkpointer, qr/^\d+$/, 'the checkpointer runs');

# 1. A concurrent ANALYZE, committed while the up waits.
my $holder = start_psql_bg($node, 'postgres', 'm127_holder', q{
SELECT pg_advisory_lock(42);
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
ANALYZE public.uf;
SELECT pg_advisory_unlock(42);
});
my $writer = start_psql_bg($node, 'postgres', 'm127_writer',
	q{INSERT INTO uf (id, amt) VALUES (2000, 2000);});
my ($hret, undef, $herr) = finish_bg($holder);
is($hret, 0, 'the session analyzing meanwhile ends') or diag($herr);
my ($wret, undef, $werr) = finish_bg($writer);
is($wret, 0, 'an old-shape INSERT whose up writes its own table after a concurrent ANALYZE succeeds')
  or diag($werr);

# 2. The up's own ANALYZE.
my ($ret, $out, $err) = $node->psql('postgres',
	q{INSERT INTO uf (id, amt) VALUES (1000, 1000)});
is($ret, 0, 'an old-shape INSERT whose up analyzes and writes its own table succeeds')
  or diag($err);

ok($node->poll_query_until('postgres', 'SELECT true'), 'the server accepts connections');
is($node->safe_psql('postgres', $checkpointer_sql), $checkpointer,
	'the server did not restart (the same checkpointer runs)');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no backend died');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s:%s:%s', id, s, t, _steward_side), ' ' ORDER BY id)
	  FROM uf WHERE abs(id) >= 1000}),
	'-2000:v7-a constant that lives in the expression:another constant of the expression-7:o '
	. '-1000:v7-a constant that lives in the expression:another constant of the expression-7:o '
	. '1000:v1000-a constant that lives in the expression:another constant of the expression-1000:o '
	. '2000:v2000-a constant that lives in the expression:another constant of the expression-2000:o',
	'the outer and nested rows carry both shapes, computed from their own values');

$node->stop;
done_testing();

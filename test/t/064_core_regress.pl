# Compatibility proof in CI: PostgreSQL 15's own regression suite, once with
# heap tables and once with default_table_access_method = steward
# (test/compat/core-regress.sh --mode am), must show no test whose output
# differs between the two runs beyond naming the access method, and no
# crash.  The source is fetched with apt-get source into a cache shared by
# all runs (STEWARD_PG_SOURCE, default /var/tmp/pg_steward-pg15-source).

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $script = dirname(__FILE__) . '/../compat/core-regress.sh';
my $work   = PostgreSQL::Test::Utils::tempdir_short;
my $src    = $ENV{STEWARD_PG_SOURCE} // '/var/tmp/pg_steward-pg15-source';

my ($out, $err) = ('', '');
IPC::Run::run([ 'bash', $script, '--mode', 'am', '--workdir', $work, '--srcdir', $src ],
	'<', \undef, '>', \$out, '2>', \$err);
my $rc = $? >> 8;
note "core-regress.sh exit $rc\n$out\n$err";

my ($ntests) = $out =~ /^tests run: (\d+)$/m;
cmp_ok($ntests // 0, '>=', 200, "the whole parallel schedule ran ($ntests tests)");
like($out, qr/^server crashes: heap 0, steward 0$/m, 'no server crash in either run');
like($out, qr/^output differs otherwise: 0 *$/m,
	'no test output differs between heap and steward beyond naming the access method');
is($rc, 0, 'core-regress.sh reports success');

done_testing();

# Dumps of steward tables restore although pg_steward now refuses
# definitions where something the executor computes or checks before the
# access method stores a row depends on a column the AM sets (issue 12
# item 2; src/tableam/written.c).  The restore replays CREATE TABLE,
# ATTACH PARTITION, CREATE POLICY, ALTER TABLE ... ENABLE ROW LEVEL
# SECURITY and CREATE VIEW ... WITH CHECK OPTION with the extension's event
# triggers active, partly after the rules are back: every definition the
# source accepted must be accepted again, whole-database (plain and custom
# format with parallel jobs) and for a single table.  The restored rules
# must still refuse a bad definition and still set versions and changed_at.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('written_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('doc_status', ARRAY['draft', 'published'],
	    ARRAY['draft'], ARRAY['draft->published']);

	-- Everything derived or checked here uses other columns.
	CREATE TABLE docs (id int PRIMARY KEY, owner text NOT NULL DEFAULT current_user,
	    body text CHECK (body <> ''), status text NOT NULL DEFAULT 'draft',
	    published_at timestamptz, version bigint,
	    body_len int GENERATED ALWAYS AS (length(body)) STORED) USING steward;
	SELECT steward.track_versions('docs', 'version');
	SELECT steward.attach_state_machine('docs', 'status', 'doc_status', 'published_at');
	ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
	CREATE POLICY mine ON docs USING (owner = current_user);
	CREATE POLICY old_only ON docs FOR UPDATE USING (version < 1000) WITH CHECK (owner = current_user);
	CREATE VIEW short_docs AS SELECT * FROM docs WHERE body_len < 100 WITH CHECK OPTION;
	INSERT INTO docs (id, body) SELECT g, 'body ' || g FROM generate_series(1, 20) g;
	UPDATE docs SET status = 'published' WHERE id <= 5;
	UPDATE docs SET body = body || '!' WHERE id % 2 = 0;
	-- A state check: carried by the label of docs.status, and as a row of
	-- steward.state_checks in whole-database dumps (restored once).
	SELECT steward.set_state_check('docs', 'published',
	    'SELECT count(*) FROM docs WHERE status = ''published'' AND published_at IS NULL');

	-- Partitions with different column numbers and their own CHECK.
	CREATE TABLE acct (region text NOT NULL, id int NOT NULL, balance int NOT NULL DEFAULT 0,
	    version bigint, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
	CREATE TABLE acct_eu PARTITION OF acct FOR VALUES IN ('eu') USING steward;
	CREATE TABLE acct_us (x int, version bigint, balance int NOT NULL DEFAULT 0 CHECK (balance >= 0),
	    id int NOT NULL, region text NOT NULL) USING steward;
	ALTER TABLE acct_us DROP COLUMN x;
	ALTER TABLE acct ATTACH PARTITION acct_us FOR VALUES IN ('us');
	SELECT steward.track_versions('acct', 'version');
	INSERT INTO acct (region, id) SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g
	  FROM generate_series(1, 10) g;
	UPDATE acct SET region = 'us', balance = 5 WHERE id = 2;

	-- The usual declarations (vers4): NOT NULL with a default on the
	-- version and the changed_at column, on a table and a partition tree;
	-- the labels come back after CREATE TABLE has put them in place.
	CREATE TABLE nnd (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1,
	    status text NOT NULL DEFAULT 'draft',
	    changed timestamptz NOT NULL DEFAULT now()) USING steward;
	SELECT steward.track_versions('nnd', 'version');
	SELECT steward.attach_state_machine('nnd', 'status', 'doc_status', 'changed');
	INSERT INTO nnd (id) SELECT g FROM generate_series(1, 4) g;
	UPDATE nnd SET status = 'published' WHERE id <= 2;
	CREATE TABLE pnd (region text NOT NULL, id int NOT NULL,
	    version bigint NOT NULL DEFAULT 1, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
	CREATE TABLE pnd_eu PARTITION OF pnd FOR VALUES IN ('eu') USING steward;
	CREATE TABLE pnd_us PARTITION OF pnd FOR VALUES IN ('us') USING steward;
	SELECT steward.track_versions('pnd', 'version');
	INSERT INTO pnd (region, id) VALUES ('eu', 1), ('us', 2);
	UPDATE pnd SET region = 'us' WHERE id = 1;

	-- A bigserial version (NOT NULL DEFAULT nextval): pg_dump writes the
	-- default as ALTER TABLE ... SET DEFAULT after the column's label, so
	-- the label meets NOT NULL without a default: the rule must be kept.
	CREATE TABLE bser (id int PRIMARY KEY, version bigserial) USING steward;
	SELECT steward.track_versions('bser', 'version');
	INSERT INTO bser (id) VALUES (1), (2);
	UPDATE bser SET id = 3 WHERE id = 2;
});

my $query = q{
	SELECT string_agg(format('%s:%s:%s:%s', id, status, version, body_len), ',' ORDER BY id) FROM docs;
	SELECT string_agg(format('%s:%s:%s:%s', tableoid::regclass, id, balance, version), ',' ORDER BY id) FROM acct;
	SELECT string_agg(format('%s:%s:%s', id, version, status), ',' ORDER BY id) FROM nnd;
	SELECT string_agg(format('%s:%s:%s', tableoid::regclass, id, version), ',' ORDER BY id) FROM pnd;
	SELECT string_agg(format('%s:%s', id, version), ',' ORDER BY id) FROM bser;
	SELECT string_agg(format('%s.%s:%s', relid, column_name, kind), ',' ORDER BY relid::text, column_name) FROM steward.tracked_columns;
	SELECT string_agg(polname, ',' ORDER BY polname) FROM pg_policy;
	SELECT count(*) FROM docs WHERE status = 'published' AND published_at IS NOT NULL;
	SELECT string_agg(format('%s:%s:%s', relid, state, check_sql), ',' ORDER BY relid::text, state) FROM steward.state_checks;
	SELECT string_agg(format('%s:%s:%s', state, passed, violations), ',') FROM steward.validate('docs');
};
my $expected = $node->safe_psql('src', $query);

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/plain.sql" ],
	'plain dump');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/custom.dump" ],
	'custom-format dump');

{
	# The order that matters for bser: its label before its default.
	my $plain = PostgreSQL::Test::Utils::slurp_file("$dir/plain.sql");
	my $label = index($plain, 'SECURITY LABEL FOR steward ON COLUMN public.bser.version');
	my $default = index($plain, 'ALTER TABLE ONLY public.bser ALTER COLUMN version SET DEFAULT');
	ok($label >= 0 && $default >= 0 && $label < $default,
		'pg_dump writes the bigserial version\'s label before its default');
}
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('plain'), '-f', "$dir/plain.sql" ],
	'the plain dump restores with ON_ERROR_STOP');
is($node->safe_psql('plain', $query), $expected, 'plain restore: rows, versions, rules, policies');

$node->safe_psql('postgres', 'CREATE DATABASE custom');
$node->command_ok(
	[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('custom'), "$dir/custom.dump" ],
	'the custom dump restores with pg_restore -j 2 --exit-on-error');
is($node->safe_psql('custom', $query), $expected, 'custom restore: the same');

# The restored rules still refuse a bad definition and still act.
my ($ret, $out, $err) = $node->psql('plain',
	'ALTER TABLE docs ADD COLUMN etag text GENERATED ALWAYS AS (id::text || version::text) STORED');
like($err, qr/generated column "etag" of relation "docs" depends on column "version"/,
	'restored: a generated column over the version is refused');
is( $node->safe_psql(
		'plain',
		"UPDATE docs SET status = 'published' WHERE id = 7 RETURNING version, published_at = statement_timestamp()"),
	'2|t',
	'restored: the AM sets the version and changed_at');
is( $node->safe_psql(
		'custom',
		"INSERT INTO nnd (id) VALUES (5) RETURNING version, changed = statement_timestamp();
		 INSERT INTO pnd (region, id) VALUES ('eu', 3) RETURNING version;
		 UPDATE nnd SET status = 'published' WHERE id = 3 RETURNING version, changed = statement_timestamp()"),
	"1|t\n1\n2|t",
	'restored NOT NULL DEFAULT 1 / DEFAULT now(): the AM still sets version and changed_at');
is( $node->safe_psql(
		'plain',
		"INSERT INTO bser (id) VALUES (4) RETURNING version;
		 UPDATE bser SET id = 5 WHERE id = 4 RETURNING version;
		 SELECT count(*) FROM steward.verify('bser') WHERE \"check\" = 'column_definition'"),
	"3\n4\n0",
	'restored bigserial version: tracked (the sequence gives the first version), and verify finds its default restored');

# A single table into a database that has the extension.
$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('one', 'CREATE EXTENSION pg_steward');
$node->command_ok([ 'pg_dump', '-t', 'acct*', '-d', $node->connstr('src'), '-f', "$dir/acct.sql" ],
	'dump of one partitioned table');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('one'), '-f', "$dir/acct.sql" ],
	'it restores');
is( $node->safe_psql('one', 'SELECT count(*), sum(version) FROM acct'),
	$node->safe_psql('src', 'SELECT count(*), sum(version) FROM acct'),
	'single-table restore: the same rows and versions');

# docs alone, RLS policies and the view's check option included: its state
# check comes with it (the label of docs.status) and runs.
$node->command_ok([ 'pg_dump', '-t', 'docs', '-t', 'short_docs', '-d', $node->connstr('src'),
		'-f', "$dir/docs.sql" ], 'dump of docs and its view');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('one'), '-f', "$dir/docs.sql" ],
	'it restores');
is( $node->safe_psql('one',
		q{SELECT state || ':' || check_sql FROM steward.state_checks WHERE relid = 'docs'::regclass}),
	q{published:SELECT count(*) FROM docs WHERE status = 'published' AND published_at IS NULL},
	'single-table restore: the state check is back');
is( $node->safe_psql('one',
		q{SELECT state || ':' || passed || ':' || violations FROM steward.validate('docs')}),
	'published:true:0', 'and validate() runs it');

# A 0.1 partitioned table whose version is NOT NULL without a default
# (made with the event trigger disabled, as 0.1 left it): pg_dump writes
# each partition as a table and then ATTACH PARTITION, which the judge
# refused naming the parent (codereview7 E), so the restore stopped, or
# left the partitions detached without ON_ERROR_STOP.  A partition
# declared as its parent adds no failure: the restore attaches them, and
# the restored table still takes new partitions.
$node->safe_psql(
	'src', q{
	CREATE TABLE old01 (id int, version bigint, PRIMARY KEY (id)) PARTITION BY RANGE (id);
	CREATE TABLE old01_a PARTITION OF old01 FOR VALUES FROM (0) TO (100) USING steward;
	CREATE TABLE old01_b PARTITION OF old01 FOR VALUES FROM (100) TO (200) USING steward;
	SELECT steward.track_versions('old01', 'version');
	ALTER EVENT TRIGGER steward_rules_written DISABLE;
	ALTER TABLE old01 ALTER COLUMN version SET NOT NULL;
	ALTER EVENT TRIGGER steward_rules_written ENABLE ALWAYS;
	INSERT INTO old01 VALUES (1, 1), (101, 1);
});
$node->command_ok([ 'pg_dump', '-t', 'old01*', '-d', $node->connstr('src'), '-f', "$dir/old01.sql" ],
	'dump of a 0.1 partitioned table with version NOT NULL and no default');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('one'), '-f', "$dir/old01.sql" ],
	'it restores: its partitions are attached');
is( $node->safe_psql('one',
		q{CREATE TABLE old01_c PARTITION OF old01 FOR VALUES FROM (200) TO (300) USING steward;
		  INSERT INTO old01 VALUES (201, 1);
		  SELECT string_agg(format('%s:%s', tableoid::regclass, id), ',' ORDER BY id) FROM old01;
		  SELECT count(*) FROM steward.verify('old01') WHERE "check" = 'column_definition' AND NOT passed}),
	"old01_a:1,old01_b:101,old01_c:201\n4",
	'the restored table takes a new partition; verify still names the fix of each member');

$node->stop;
done_testing();

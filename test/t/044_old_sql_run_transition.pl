# pg_steward 0.1's SQL objects with the current library (after "make
# install", before ALTER EXTENSION pg_steward UPDATE).
#
# 0.1's steward.run_transition is PL/pgSQL that moves the batches itself,
# as the caller and under the caller's search_path: a superuser (or a
# member of the owner's role) calling it would run the owner's triggers
# with its own rights.  The library refuses to prepare such a run (55000,
# HINT "Run ALTER EXTENSION pg_steward UPDATE in this database.") and
# moves nothing, for every caller; whatever else 0.1's SQL reaches that is
# safe keeps working (the state rule, validate(), verify()).  After the
# update the same CALL moves the rows, the owner's trigger running as the
# owner.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('old_sql');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION pg_steward VERSION '0.1'");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'the database has 0.1\'s objects');

# A table owner's table with a state machine, and a trigger that logs who
# runs it.
$node->safe_psql('old', q{
	CREATE ROLE shop_owner LOGIN;
	CREATE SCHEMA shop AUTHORIZATION shop_owner;
	SET ROLE shop_owner;
	SELECT steward.create_state_machine('order_status', ARRAY['created', 'paid'],
	                                    ARRAY['created'], ARRAY['created->paid']);
	CREATE TABLE shop.orders (id int PRIMARY KEY, status text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shop.orders', 'status', 'order_status');
	INSERT INTO shop.orders SELECT g, 'created' FROM generate_series(1, 30) g;
	SELECT steward.set_state_check('shop.orders', 'paid',
	    'SELECT count(*) FROM orders WHERE status = ''paid'' AND id > 1000');
	CREATE TABLE shop.ran (who name);
	CREATE FUNCTION shop.log_who() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO shop.ran VALUES (current_user);
	    RETURN NEW;
	END $$;
	CREATE TRIGGER log_who BEFORE UPDATE ON shop.orders
	    FOR EACH ROW EXECUTE FUNCTION shop.log_who();
});

# The error of a statement, verbose: "ERROR:  SQLSTATE: ..." with its HINT.
sub refusal
{
	my ($user, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('old', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user ]);
	return $err;
}

my $bootstrap = $node->safe_psql('postgres', 'SELECT current_user');
for my $user ('shop_owner', $bootstrap)
{
	like(refusal($user, "CALL steward.run_transition('shop.orders', 'created', 'paid')"),
		qr/ERROR:  55000: .*0\.1.*HINT:  Run ALTER EXTENSION pg_steward UPDATE in this database\./s,
		"0.1's run_transition called by $user: 55000, asking for the update");
}
is($node->safe_psql('old', q{
	SELECT (SELECT count(*) FROM steward.transition_runs) || '|'
	    || (SELECT count(*) FROM shop.orders WHERE status = 'created') || '|'
	    || (SELECT count(*) FROM shop.ran)}),
	'0|30|0', 'no run recorded, no row moved, no trigger ran');

# What is safe keeps working with 0.1's objects.
like(refusal('shop_owner', "UPDATE shop.orders SET status = 'nope' WHERE id = 1"),
	qr/ERROR:  23514/, 'the state rule is still enforced');
is($node->safe_psql('old',
	"SELECT state || ':' || passed FROM steward.validate('shop.orders')",
	extra_params => [ '-U', 'shop_owner' ]),
	'paid:true', 'validate() still runs the owner\'s check');
is($node->safe_psql('old',
	"SELECT bool_and(passed) FROM steward.verify('shop.orders')"),
	't', 'verify() still runs');
$node->safe_psql('old', "UPDATE shop.orders SET status = 'paid' WHERE id = 1",
	extra_params => [ '-U', 'shop_owner' ]);
is($node->safe_psql('old', 'SELECT count(*) FROM shop.ran'), '1',
	'the owner moves a row by hand');

# After the update the same CALL works, for the owner and a superuser, and
# the owner's trigger runs as the owner.
$node->safe_psql('old', 'ALTER EXTENSION pg_steward UPDATE');
$node->safe_psql('old', "CALL steward.run_transition('shop.orders', 'created', 'paid', batch_size => 10)");
is($node->safe_psql('old', q{
	SELECT (SELECT count(*) FROM shop.orders WHERE status = 'paid') || '|'
	    || (SELECT string_agg(DISTINCT who, ',') FROM shop.ran) || '|'
	    || (SELECT string_agg(status, ',') FROM steward.transition_runs)}),
	'30|shop_owner|finished',
	'after ALTER EXTENSION UPDATE a superuser\'s run_transition moves every row, the trigger running as the owner');

done_testing();

-- Included by regress tests (\i, from the repository root): delete the
-- records of the migrations named in temp table gone, then drop it.
DELETE FROM steward.migration_validations WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_columns WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_tables WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_indexes WHERE migration IN (SELECT name FROM gone);
DELETE FROM steward.migration_runs WHERE name IN (SELECT name FROM gone);
DROP TABLE gone;

-- Included by regress tests (\i, from the repository root):
-- pg_temp.migration_to_complete(mig), which backfills, validates and
-- completes column migration mig, its NOTICEs left out.
CREATE PROCEDURE pg_temp.migration_to_complete(mig text) LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL client_min_messages = error;
    CALL steward.migration_backfill(mig);
    PERFORM steward.migration_validate(mig);
    PERFORM steward.migration_complete(mig);
END $$;

-- Included by regress tests (\i, from the repository root): sets
-- debug_discard_caches = 1 for the session where the build has assertions
-- (every invalidation point then flushes the caches, and freed memory is
-- clobbered: a use of freed cached rules crashes); a build without them
-- refuses any value but 0, and the caller then runs without the flushes.
DO $$
BEGIN
    PERFORM set_config('debug_discard_caches', '1', false);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END
$$;

--------------------------------------------------------------------------
-- Lifecycle state machines (src/lifecycle)
--------------------------------------------------------------------------

CREATE TABLE steward.machine_definitions (
    name        text PRIMARY KEY,
    states      text[] NOT NULL,
    initial     text[] NOT NULL,
    transitions text[] NOT NULL,      -- 'from->to'
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Built-in machines come with the extension; only user machines are dumped.
SELECT pg_catalog.pg_extension_config_dump('steward.machine_definitions', 'WHERE NOT builtin');
REVOKE ALL ON steward.machine_definitions FROM PUBLIC;

-- The guide's data lifecycle, with the rollback edges its migration plan
-- implies (switched -> dual_written, dual_written -> backfilled,
-- backfilled -> pending_backfill).
INSERT INTO steward.machine_definitions (name, states, initial, transitions, builtin)
VALUES ('data_lifecycle',
        ARRAY['new', 'pending_backfill', 'backfilled', 'dual_written', 'switched', 'validated'],
        ARRAY['new'],
        ARRAY['new->pending_backfill', 'pending_backfill->backfilled',
              'backfilled->dual_written', 'dual_written->switched', 'switched->validated',
              'switched->dual_written', 'dual_written->backfilled',
              'backfilled->pending_backfill'],
        true);

CREATE VIEW steward.state_machines AS
SELECT m.name, m.states, m.initial, m.transitions, m.builtin,
       coalesce((SELECT array_agg(format('%s.%I', r.relid, r.attname) ORDER BY 1)
                   FROM steward.column_rules r
                  WHERE r.kind = 'state' AND r.machine = m.name), '{}') AS attached_to,
       m.created_at
  FROM steward.machine_definitions m;
GRANT SELECT ON steward.state_machines TO PUBLIC;

CREATE FUNCTION steward.create_state_machine(name text, states text[], initial text[],
                                             transitions text[])
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    edge text;
    from_state text;
    to_state text;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'state machine name must not be null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF states IS NULL OR cardinality(states) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one state', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(states) > 64 THEN
        RAISE EXCEPTION 'state machine "%" has % states; the limit is 64', name, cardinality(states)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(states) s WHERE s IS NULL OR s = '' OR octet_length(s) > 63
                                                 OR s LIKE '%->%') THEN
        RAISE EXCEPTION 'state names must be non-empty, at most 63 bytes and not contain "->"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT count(DISTINCT s) FROM unnest(states) s) <> cardinality(states) THEN
        RAISE EXCEPTION 'state machine "%" declares a state twice', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Duplicates: %s.',
                      (SELECT string_agg(s, ', ') FROM (SELECT s FROM unnest(states) s
                                                          GROUP BY s HAVING count(*) > 1) d));
    END IF;
    IF initial IS NULL OR cardinality(initial) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one initial state', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(initial) i WHERE i IS NULL OR NOT i = ANY (states)) THEN
        RAISE EXCEPTION 'initial states of machine "%" must be declared states', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Undeclared: %s.',
                      (SELECT string_agg(coalesce(i, 'NULL'), ', ') FROM unnest(initial) i
                        WHERE i IS NULL OR NOT i = ANY (states)));
    END IF;
    IF transitions IS NULL THEN
        RAISE EXCEPTION 'transitions of machine "%" must not be null (use an empty array)', name
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT count(DISTINCT t) FROM unnest(transitions) t) <> cardinality(transitions) THEN
        RAISE EXCEPTION 'state machine "%" declares a transition twice', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH edge IN ARRAY transitions LOOP
        IF edge IS NULL OR edge NOT LIKE '%->%' THEN
            RAISE EXCEPTION 'transition "%" of machine "%" must be written ''from->to''',
                    coalesce(edge, 'NULL'), name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        from_state := split_part(edge, '->', 1);
        to_state := substr(edge, length(from_state) + 3);
        IF NOT from_state = ANY (states) OR NOT to_state = ANY (states) THEN
            RAISE EXCEPTION 'transition "%" of machine "%" uses an undeclared state', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Declared states: %s.', array_to_string(states, ', '));
        END IF;
        IF from_state = to_state THEN
            RAISE EXCEPTION 'transition "%" of machine "%" goes nowhere', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Keeping the state is always allowed.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM steward.machine_definitions m WHERE m.name = create_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" already exists', name
            USING ERRCODE = 'duplicate_object';
    END IF;
    INSERT INTO steward.machine_definitions (name, states, initial, transitions)
    VALUES (name, states, initial, transitions);
END
$$;
COMMENT ON FUNCTION steward.create_state_machine(text, text[], text[], text[]) IS
  'define a lifecycle state machine: states, initial states, transitions written from->to';

CREATE FUNCTION steward.drop_state_machine(name text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    IF (SELECT m.builtin FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" is built in', name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT string_agg(format('%s.%I', r.relid, r.attname), ', ' ORDER BY 1) INTO users
      FROM steward.column_rules r WHERE r.kind = 'state' AND r.machine = drop_state_machine.name;
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'state machine "%" is attached', name
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('Attached to: %s.', users),
                  HINT = 'Detach it first with steward.detach_state_machine().';
    END IF;
    DELETE FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name;
END
$$;

CREATE FUNCTION steward.attach_state_machine(tbl regclass, col name, machine text,
                                             changed_at_column name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_attach_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.attach_state_machine(regclass, name, text, name) IS
  'enforce a state machine on a text column of a steward table (owner only)';

CREATE FUNCTION steward.detach_state_machine(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_detach_state_machine'
LANGUAGE C VOLATILE;

-- Validation checks per (table, state): a query returning the number of
-- violating rows.
CREATE TABLE steward.state_checks (
    relid     regclass NOT NULL,
    state     text     NOT NULL,
    check_sql text     NOT NULL,
    PRIMARY KEY (relid, state)
);
SELECT pg_catalog.pg_extension_config_dump('steward.state_checks', '');
REVOKE ALL ON steward.state_checks FROM PUBLIC;
GRANT SELECT ON steward.state_checks TO PUBLIC;

CREATE TABLE steward.validation_runs (
    relid      regclass    NOT NULL,
    state      text        NOT NULL,
    check_sql  text        NOT NULL,
    passed     boolean     NOT NULL,
    violations bigint      NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX validation_runs_relid ON steward.validation_runs (relid, checked_at);
REVOKE ALL ON steward.validation_runs FROM PUBLIC;
GRANT SELECT ON steward.validation_runs TO PUBLIC;

CREATE FUNCTION steward.set_state_check(tbl regclass, state text, check_sql text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_state_check'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.set_state_check(regclass, text, text) IS
  'validation query for rows in a state; returns the number of violating rows (NULL removes it)';

CREATE FUNCTION steward.validate(tbl regclass)
RETURNS TABLE (state text, check_sql text, passed boolean, violations bigint,
               checked_at timestamptz)
AS 'MODULE_PATHNAME', 'steward_validate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.validate(regclass) IS
  'run the state checks of a table as its owner and record them in steward.validation_runs';

-- Batch transitions.
CREATE TABLE steward.transition_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid         regclass    NOT NULL,
    state_column  name        NOT NULL,
    from_state    text        NOT NULL,
    to_state      text        NOT NULL,
    rows_total    bigint      NOT NULL,
    rows_done     bigint      NOT NULL DEFAULT 0,
    batches       bigint      NOT NULL DEFAULT 0,
    retries       integer     NOT NULL DEFAULT 0,
    pid           integer     NOT NULL,
    status        text        NOT NULL DEFAULT 'running',
    started_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    last_batch_at timestamptz,
    finished_at   timestamptz
);
REVOKE ALL ON steward.transition_runs FROM PUBLIC;
GRANT SELECT ON steward.transition_runs TO PUBLIC;

CREATE FUNCTION steward._transition_prepare(tbl regclass, from_state text, to_state text,
                                            set_sql text, batch_size integer,
                                            max_rows_per_sec integer,
                                            OUT run_id bigint, OUT state_column text,
                                            OUT key_columns text, OUT key_type text)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_transition_prepare'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._transition_progress(run_id bigint, rows bigint, retries integer,
                                             status text, remaining bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_transition_progress'
LANGUAGE C VOLATILE;

CREATE PROCEDURE steward.run_transition(tbl regclass, from_state text, to_state text,
                                        set_sql text DEFAULT NULL,
                                        batch_size integer DEFAULT 1000,
                                        max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so the caller's search_path gives it no rights it lacks.
AS $$
DECLARE
    prep record;
    first_stmt text;
    next_stmt text;
    moved bigint;
    pass_moved bigint;
    last_key text;
    batch_key text;
    retries integer;
    backoff double precision;
    batch_started timestamptz;
    pause double precision;
    remaining bigint;
BEGIN
    prep := steward._transition_prepare(tbl, from_state, to_state, set_sql,
                                        batch_size, max_rows_per_sec);
    COMMIT;

    -- Lock a batch in key order, skipping rows other transactions hold, and
    -- move it.  tableoid makes the join safe on partitioned tables, whose
    -- ctids repeat.  With a single-column key the next batch starts after
    -- the last key moved (keyset), so each batch reads only its own rows.
    first_stmt := format(
        'WITH batch AS (SELECT tableoid, ctid FROM %1$s WHERE %2$I = $1 %5$s ORDER BY %3$s '
        'LIMIT $2 FOR UPDATE SKIP LOCKED), '
        'moved AS (UPDATE %1$s t SET %2$I = $3%4$s FROM batch '
        'WHERE t.tableoid = batch.tableoid AND t.ctid = batch.ctid RETURNING %6$s AS k) '
        'SELECT count(*), max(k)::text FROM moved',
        tbl, prep.state_column, prep.key_columns,
        CASE WHEN set_sql IS NULL THEN '' ELSE ', ' || set_sql END,
        '', CASE WHEN prep.key_type IS NOT NULL THEN 't.' || prep.key_columns
                 ELSE 'NULL::int' END);
    IF prep.key_type IS NOT NULL THEN
        next_stmt := format(
            'WITH batch AS (SELECT tableoid, ctid FROM %1$s WHERE %2$I = $1 AND %3$s > $4::%6$s '
            'ORDER BY %3$s LIMIT $2 FOR UPDATE SKIP LOCKED), '
            'moved AS (UPDATE %1$s t SET %2$I = $3%4$s FROM batch '
            'WHERE t.tableoid = batch.tableoid AND t.ctid = batch.ctid RETURNING t.%3$s AS k) '
            'SELECT count(*), max(k)::text FROM moved',
            tbl, prep.state_column, prep.key_columns,
            CASE WHEN set_sql IS NULL THEN '' ELSE ', ' || set_sql END,
            '', prep.key_type);
    END IF;

    -- Passes over the table until one moves nothing: a row skipped because
    -- it was locked, or re-locked in a newer version than the batch's
    -- snapshot can update, is picked up by the next pass.
    LOOP
        pass_moved := 0;
        last_key := NULL;
        LOOP
            retries := 0;
            backoff := 0.01;
            batch_started := clock_timestamp();
            LOOP
                BEGIN
                    IF last_key IS NULL OR next_stmt IS NULL THEN
                        EXECUTE first_stmt INTO moved, batch_key
                            USING from_state, batch_size, to_state;
                    ELSE
                        EXECUTE next_stmt INTO moved, batch_key
                            USING from_state, batch_size, to_state, last_key;
                    END IF;
                    EXIT;
                EXCEPTION
                    WHEN serialization_failure OR deadlock_detected THEN
                        retries := retries + 1;
                        IF retries > 10 THEN
                            PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                            COMMIT;
                            RAISE;
                        END IF;
                        PERFORM pg_sleep(backoff * (0.5 + random()));
                        backoff := least(backoff * 2, 2.0);
                    WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'cancelled');
                        COMMIT;
                        RAISE;
                    WHEN OTHERS THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                        COMMIT;
                        RAISE;
                END;
            END LOOP;
            PERFORM steward._transition_progress(prep.run_id, moved, retries, NULL);
            COMMIT;
            EXIT WHEN moved = 0;
            pass_moved := pass_moved + moved;
            last_key := batch_key;

            IF max_rows_per_sec IS NOT NULL THEN
                pause := moved::double precision / max_rows_per_sec
                         - extract(epoch FROM clock_timestamp() - batch_started);
                IF pause > 0 THEN
                    BEGIN
                        PERFORM pg_sleep(pause);
                    EXCEPTION WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, 0, 'cancelled');
                        COMMIT;
                        RAISE;
                    END;
                END IF;
            END IF;
        END LOOP;
        EXIT WHEN pass_moved = 0 OR next_stmt IS NULL;
    END LOOP;

    -- What is left (rows other transactions kept locked) stays for a re-run.
    EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1', tbl, prep.state_column)
        INTO remaining USING from_state;
    PERFORM steward._transition_progress(prep.run_id, 0, 0, 'finished', remaining);
    COMMIT;
END
$$;
COMMENT ON PROCEDURE steward.run_transition(regclass, text, text, text, integer, integer) IS
  'move rows from one state to another in committed, resumable batches';

CREATE VIEW steward.transition_progress AS
SELECT r.id, r.relid, r.state_column, r.from_state, r.to_state,
       r.rows_done,
       greatest(r.rows_total - r.rows_done, 0) AS rows_remaining,
       round((r.rows_done / nullif(extract(epoch FROM coalesce(r.last_batch_at, r.started_at)
                                                    - r.started_at), 0))::numeric, 1)
           AS rows_per_sec,
       CASE WHEN r.finished_at IS NULL AND r.rows_done > 0 THEN
           (greatest(r.rows_total - r.rows_done, 0)
            * ((r.last_batch_at - r.started_at) / r.rows_done))
       END AS eta,
       r.started_at, r.last_batch_at, r.batches, r.retries,
       r.finished_at,
       CASE WHEN r.finished_at IS NOT NULL THEN r.status
            WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = r.pid)
                THEN 'interrupted'
            ELSE 'running' END AS status
  FROM steward.transition_runs r;
GRANT SELECT ON steward.transition_progress TO PUBLIC;

-- Rows per state for every attached table the caller may read.
CREATE FUNCTION steward._state_counts()
RETURNS TABLE (relid regclass, column_name name, state text, rows bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relid, c.attname FROM steward.column_rules c
              WHERE c.kind = 'state' ORDER BY c.relid::text, c.attname LOOP
        CONTINUE WHEN NOT has_table_privilege(r.relid, 'SELECT');
        RETURN QUERY EXECUTE format('SELECT %L::regclass, %L::name, %I::text, count(*) '
                                    'FROM %s GROUP BY 3 ORDER BY 3',
                                    r.relid, r.attname, r.attname, r.relid);
    END LOOP;
END
$$;

CREATE VIEW steward.state_counts AS SELECT * FROM steward._state_counts();
GRANT SELECT ON steward.state_counts TO PUBLIC;

CREATE VIEW steward.transition_counts AS
    SELECT relid, from_state, to_state, transitions FROM steward.transition_counters();


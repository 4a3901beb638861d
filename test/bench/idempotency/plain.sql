-- The baseline: the same idempotency-key protocol written by hand in
-- PL/pgSQL over a heap table with a btree UNIQUE (scope, key) constraint
-- (the brandur / Stripe schema), in schema "plain".  Functions have the
-- same names, arguments and results as steward.idempotency_begin /
-- steward.idempotency_complete, so the pgbench scripts call them
-- unqualified and run.sh picks the variant with search_path.
--
-- Same outcomes as pg_steward (equiv.sql checks them side by side):
--   begin: new | replay (status, response) | mismatch | in_progress, with
--          created_at; expired keys are deleted and count as new; a key
--          committed without a result and locked for longer than the lock
--          timeout (5 min) is taken over (new); retention 24 h or the
--          scope's override from idempotency_scopes; the same argument
--          checks and SQLSTATEs (22004 null, 22023 empty / too long).
--   complete: UPDATE ... WHERE status IS NULL; the same result again is a
--          no-op; a different result or no key at all is 55000; the
--          response must be a JSON object (22023); completing renews
--          expires_at from the completion time.
-- Differences that are not outcomes: the baseline runs with the caller's
-- rights (no SECURITY DEFINER / owner switch, which pg_steward does), keeps
-- no per-scope counters, takes its retention and lock timeout from
-- constants instead of GUCs, and does not implement nowait => true.
--
-- Order of statements, as in the brandur design: INSERT ... ON CONFLICT DO
-- NOTHING RETURNING first; only if nothing was inserted, SELECT the row and
-- classify it.  (pg_steward looks first and inserts only if nothing is
-- there.)
CREATE SCHEMA plain;

CREATE TABLE plain.idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    status       integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    locked_at    timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_once UNIQUE (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON plain.idempotency_keys (expires_at);

CREATE TABLE plain.idempotency_scopes (
    scope     text PRIMARY KEY,
    retention interval NOT NULL CHECK (retention > interval '0')
);

CREATE FUNCTION plain.idempotency_begin(p_scope text, p_key text, p_fingerprint text,
                                        nowait boolean DEFAULT false)
RETURNS TABLE (outcome text, status integer, response jsonb, created_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c_retention    CONSTANT interval := interval '24 hours';
    c_lock_timeout CONSTANT interval := interval '5 minutes';
    r record;
BEGIN
    -- argument checks in pg_steward's order, with its SQLSTATEs
    IF p_scope IS NULL THEN
        RAISE EXCEPTION 'idempotency scope must not be null' USING ERRCODE = '22004';
    ELSIF p_scope = '' THEN
        RAISE EXCEPTION 'idempotency scope must not be empty' USING ERRCODE = '22023';
    ELSIF octet_length(p_scope) > 255 THEN
        RAISE EXCEPTION 'idempotency scope is too long' USING ERRCODE = '22023';
    ELSIF p_key IS NULL THEN
        RAISE EXCEPTION 'idempotency key must not be null' USING ERRCODE = '22004';
    ELSIF p_key = '' THEN
        RAISE EXCEPTION 'idempotency key must not be empty' USING ERRCODE = '22023';
    ELSIF octet_length(p_key) > 255 THEN
        RAISE EXCEPTION 'idempotency key is too long' USING ERRCODE = '22023';
    ELSIF p_fingerprint IS NULL THEN
        RAISE EXCEPTION 'idempotency fingerprint must not be null' USING ERRCODE = '22004';
    ELSIF p_fingerprint = '' THEN
        RAISE EXCEPTION 'idempotency fingerprint must not be empty' USING ERRCODE = '22023';
    ELSIF nowait THEN
        RAISE EXCEPTION 'nowait is not implemented by the PL/pgSQL baseline' USING ERRCODE = '0A000';
    END IF;

    FOR attempt IN 1..8 LOOP
        INSERT INTO plain.idempotency_keys AS k (scope, key, fingerprint, expires_at)
        VALUES (p_scope, p_key, p_fingerprint,
                now() + coalesce((SELECT s.retention FROM plain.idempotency_scopes s
                                   WHERE s.scope = p_scope), c_retention))
        ON CONFLICT ON CONSTRAINT idempotency_keys_once DO NOTHING
        RETURNING k.created_at INTO created_at;
        IF FOUND THEN
            outcome := 'new';
            RETURN NEXT;
            RETURN;
        END IF;

        SELECT k.fingerprint, k.status, k.response, k.created_at,
               k.expires_at <= now() AS expired,
               k.locked_at < now() - c_lock_timeout AS stale
          INTO r
          FROM plain.idempotency_keys k
         WHERE k.scope = p_scope AND k.key = p_key;
        CONTINUE WHEN NOT FOUND;            -- deleted in between: insert again

        IF r.expired THEN
            DELETE FROM plain.idempotency_keys k
             WHERE k.scope = p_scope AND k.key = p_key AND k.expires_at <= now();
            CONTINUE;
        END IF;
        created_at := r.created_at;
        IF r.fingerprint <> p_fingerprint THEN
            outcome := 'mismatch';
        ELSIF r.status IS NOT NULL THEN
            outcome := 'replay';
            status := r.status;
            response := r.response;
        ELSIF r.stale THEN
            UPDATE plain.idempotency_keys k SET locked_at = now()
             WHERE k.scope = p_scope AND k.key = p_key AND k.status IS NULL
               AND k.locked_at < now() - c_lock_timeout
            RETURNING k.created_at INTO created_at;
            CONTINUE WHEN NOT FOUND;        -- somebody else took it over
            outcome := 'new';
        ELSE
            outcome := 'in_progress';
        END IF;
        RETURN NEXT;
        RETURN;
    END LOOP;
    RAISE EXCEPTION 'could not settle idempotency key "%" in scope "%"', p_key, p_scope
        USING ERRCODE = '40001';
END
$$;

CREATE FUNCTION plain.idempotency_complete(p_scope text, p_key text, p_status integer,
                                           p_response jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c_retention CONSTANT interval := interval '24 hours';
    r record;
BEGIN
    IF p_scope IS NULL THEN
        RAISE EXCEPTION 'idempotency scope must not be null' USING ERRCODE = '22004';
    ELSIF p_scope = '' THEN
        RAISE EXCEPTION 'idempotency scope must not be empty' USING ERRCODE = '22023';
    ELSIF octet_length(p_scope) > 255 THEN
        RAISE EXCEPTION 'idempotency scope is too long' USING ERRCODE = '22023';
    ELSIF p_key IS NULL THEN
        RAISE EXCEPTION 'idempotency key must not be null' USING ERRCODE = '22004';
    ELSIF p_key = '' THEN
        RAISE EXCEPTION 'idempotency key must not be empty' USING ERRCODE = '22023';
    ELSIF octet_length(p_key) > 255 THEN
        RAISE EXCEPTION 'idempotency key is too long' USING ERRCODE = '22023';
    ELSIF p_status IS NULL THEN
        RAISE EXCEPTION 'idempotency status must not be null' USING ERRCODE = '22004';
    ELSIF p_response IS NOT NULL AND jsonb_typeof(p_response) <> 'object' THEN
        RAISE EXCEPTION 'idempotency response must be a JSON object' USING ERRCODE = '22023';
    END IF;

    UPDATE plain.idempotency_keys k
       SET status = p_status, response = p_response, completed_at = now(),
           expires_at = now() + coalesce((SELECT s.retention FROM plain.idempotency_scopes s
                                           WHERE s.scope = p_scope), c_retention)
     WHERE k.scope = p_scope AND k.key = p_key AND k.status IS NULL;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT k.status = p_status AND k.response IS NOT DISTINCT FROM p_response AS same, k.status
      INTO r
      FROM plain.idempotency_keys k
     WHERE k.scope = p_scope AND k.key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key "%" in scope "%" is not held', p_key, p_scope
            USING ERRCODE = '55000';
    ELSIF NOT coalesce(r.same, false) THEN
        RAISE EXCEPTION 'idempotency key "%" in scope "%" was already completed with a different result',
              p_key, p_scope USING ERRCODE = '55000', DETAIL = format('The stored status is %s.', r.status);
    END IF;
    -- the same result again: a no-op
END
$$;

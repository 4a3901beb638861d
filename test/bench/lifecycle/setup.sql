-- Data for the lifecycle/ benchmark; run by run.sh with -v rows=N -v big=M.
--
-- Three variants of the same table, identical rows in identical physical
-- order, unqualified name "items" (run.sh picks the variant by search_path):
--   m  USING steward, the state machine "account" attached to status
--   n  USING steward, no machine (the same table AM without the rule)
--   t  plain heap, a PL/pgSQL BEFORE INSERT OR UPDATE trigger enforcing the
--      same machine
-- and, for (c), big.items: USING steward, machine "job" attached, :big rows.
\set ON_ERROR_STOP on

CREATE EXTENSION pg_steward;

-- A machine with edges both ways between active and suspended, so that
-- single-row updates can toggle forever along legal edges.
SELECT steward.create_state_machine('account',
    ARRAY['new', 'active', 'suspended', 'closed'],
    ARRAY['new'],
    ARRAY['new->active', 'active->suspended', 'suspended->active',
          'active->closed', 'suspended->closed']);
SELECT steward.create_state_machine('job',
    ARRAY['pending', 'done'], ARRAY['pending'],
    ARRAY['pending->done', 'done->pending']);

CREATE SCHEMA m;
CREATE SCHEMA n;
CREATE SCHEMA t;
CREATE SCHEMA big;
CREATE TABLE m.items (id bigint PRIMARY KEY, status text NOT NULL, amount int NOT NULL,
                      note text NOT NULL) USING steward;
CREATE TABLE n.items (LIKE m.items INCLUDING ALL) USING steward;
CREATE TABLE t.items (LIKE m.items INCLUDING ALL) USING heap;

SELECT setseed(0.42);
INSERT INTO m.items
SELECT i, CASE WHEN random() < 0.5 THEN 'active' ELSE 'suspended' END,
       (random() * 10000)::int, md5(i::text)
  FROM generate_series(1, :rows) i;
INSERT INTO n.items SELECT * FROM m.items ORDER BY id;
INSERT INTO t.items SELECT * FROM m.items ORDER BY id;
SELECT steward.attach_state_machine('m.items', 'status', 'account');

-- The trigger variant: the machine's edges as trigger arguments.  Same
-- rules as the steward AM: INSERT needs an initial state; UPDATE keeps the
-- state or follows an edge; NULL or an undeclared value is refused (23514).
CREATE FUNCTION t.enforce_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status IS NULL OR NEW.status <> 'new' THEN
            RAISE EXCEPTION 'new row of relation "%" must start in an initial state, not "%"',
                  TG_TABLE_NAME, NEW.status USING ERRCODE = '23514';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status
          AND (NEW.status IS NULL OR NOT (OLD.status || '->' || NEW.status) = ANY (TG_ARGV)) THEN
        RAISE EXCEPTION 'illegal transition "%" -> "%" for row (id)=(%) of relation "%"',
              OLD.status, NEW.status, OLD.id, TG_TABLE_NAME USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER enforce_status BEFORE INSERT OR UPDATE ON t.items
    FOR EACH ROW EXECUTE FUNCTION t.enforce_status(
        'new->active', 'active->suspended', 'suspended->active',
        'active->closed', 'suspended->closed');

-- (c): the batch transition moves all rows pending -> done (and back in the
-- next round) while single-row OLTP updates touch another column.
CREATE TABLE big.items (id bigint PRIMARY KEY, status text NOT NULL, hits int NOT NULL,
                        note text NOT NULL) USING steward;
INSERT INTO big.items SELECT i, 'pending', 0, md5(i::text) FROM generate_series(1, :big) i;
SELECT steward.attach_state_machine('big.items', 'status', 'job');

VACUUM (FREEZE, ANALYZE);
CHECKPOINT;

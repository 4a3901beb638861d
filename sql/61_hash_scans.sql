-- steward_hash answers every scan the planner can be forced into exactly
-- like a sequential scan (issue 12 item 6).  Rows with a NULL in a key
-- column are not in the index, so a scan on part of the key must not read
-- the index alone: "tenant_id = 1" must find (1, NULL).
--
-- scan_check(query) runs the query with only sequential scans, only index
-- scans and only bitmap scans enabled, shows which scan nodes each plan
-- used and compares each result with the sequential one, row by row
-- (EXCEPT ALL both ways).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
-- Forced plans cost more than jit_above_cost; compiling them is not tested here.
SET jit = off;

CREATE FUNCTION scan_check(q text)
RETURNS TABLE (mode text, scans text, n bigint, missing bigint, extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOREACH mode IN ARRAY ARRAY['seq', 'index', 'bitmap'] LOOP
        PERFORM set_config('enable_seqscan', (mode = 'seq')::text, true);
        PERFORM set_config('enable_indexscan', (mode = 'index')::text, true);
        PERFORM set_config('enable_bitmapscan', (mode = 'bitmap')::text, true);
        scans := '';
        FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
            IF line ~ '(Scan|Bitmap)' THEN
                scans := scans || CASE WHEN scans = '' THEN '' ELSE ' / ' END
                         || regexp_replace(trim(regexp_replace(line, '->', '')), ' on \w+( \w+)?$', '');
            END IF;
        END LOOP;
        EXECUTE format('CREATE TEMP TABLE scan_%s AS %s', mode, q);
        EXECUTE format('SELECT count(*) FROM scan_%s', mode) INTO n;
        EXECUTE format('SELECT count(*) FROM (TABLE scan_seq EXCEPT ALL TABLE scan_%s) d', mode) INTO missing;
        EXECUTE format('SELECT count(*) FROM (TABLE scan_%s EXCEPT ALL TABLE scan_seq) d', mode) INTO extra;
        RETURN NEXT;
    END LOOP;
    DROP TABLE scan_seq, scan_index, scan_bitmap;
    PERFORM set_config('enable_seqscan', 'on', true);
    PERFORM set_config('enable_indexscan', 'on', true);
    PERFORM set_config('enable_bitmapscan', 'on', true);
END
$$;

-- The issue's table, plus rows with NULL in either key column, in
-- another tenant, and changed rows: HOT chains, dead rows.
CREATE TABLE requests (tenant_id int, request_key text, v int) USING steward;
CREATE INDEX requests_key ON requests USING steward_hash (tenant_id, request_key);
INSERT INTO requests SELECT 1, 'k' || g, g FROM generate_series(1, 200) g;
INSERT INTO requests VALUES (1, NULL, 0), (NULL, 'k5', 0), (NULL, NULL, 0);
INSERT INTO requests SELECT 2, 'k' || g, g FROM generate_series(1, 50) g;
INSERT INTO requests VALUES (2, NULL, 0), (2, NULL, 1);
-- Many rows of a third tenant make the other tenants' scans selective, so
-- that the planner, forced, takes each kind of index scan.
INSERT INTO requests SELECT 9, 'k' || g, g FROM generate_series(1, 4000) g;
UPDATE requests SET v = v + 1000 WHERE v % 3 = 0;     -- HOT updates
DELETE FROM requests WHERE tenant_id = 2 AND v % 5 = 1;
ANALYZE requests;

-- The issue's query: 201 rows whatever the plan.
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 1');
SELECT * FROM scan_check('SELECT count(*) FROM requests WHERE tenant_id = 1');
-- The whole key.
SELECT * FROM scan_check($$SELECT * FROM requests WHERE tenant_id = 1 AND request_key = 'k5'$$);
SELECT * FROM scan_check($$SELECT * FROM requests WHERE tenant_id = 2 AND request_key = 'k6'$$);
-- IS NULL is not an index condition; a partial key with a filter.
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 1 AND request_key IS NULL');
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id IS NULL');
SELECT * FROM scan_check('SELECT * FROM requests WHERE request_key IS NULL');
-- Only the second column: not offered (amoptionalkey = false).
SELECT * FROM scan_check($$SELECT * FROM requests WHERE request_key = 'k5'$$);
-- = ANY (bitmap scans only), on part of the key and on all of it.
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = ANY (ARRAY[1, 2])');
SELECT * FROM scan_check($$SELECT * FROM requests
                            WHERE tenant_id = ANY (ARRAY[1, 2]) AND request_key = ANY (ARRAY['k5', 'k9', NULL])$$);
-- OR of a full key and a partial key (BitmapOr).
SELECT * FROM scan_check($$SELECT * FROM requests
                            WHERE (tenant_id = 1 AND request_key = 'k7') OR tenant_id = 2$$);
-- Cross-type equality, a NULL constant, contradicting keys.
SELECT * FROM scan_check($$SELECT * FROM requests WHERE tenant_id = 1::bigint AND request_key = 'k8'$$);
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 2::smallint');
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = NULL::int');
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 1 AND tenant_id = 2');
-- Parameterized inner scans of a nested loop, partial and full keys.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT * FROM scan_check($$SELECT r.* FROM (VALUES (1), (2), (NULL)) t(id)
                             JOIN requests r ON r.tenant_id = t.id$$);
SELECT * FROM scan_check($$SELECT r.* FROM (VALUES (1, 'k3'), (2, 'k4'), (1, NULL)) t(id, k)
                             JOIN requests r ON r.tenant_id = t.id AND r.request_key = t.k$$);
RESET enable_hashjoin;
RESET enable_mergejoin;

-- After VACUUM: pruned HOT chains leave redirect line pointers.
VACUUM requests;
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 1');
SELECT * FROM scan_check('SELECT * FROM requests WHERE tenant_id = 2');

-- A heap table and a three-column index, with NULLs in every column.
CREATE TABLE events (a int, b int, c text);
CREATE INDEX events_abc ON events USING steward_hash (a, b, c);
INSERT INTO events SELECT g % 4, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 5 END,
                          CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g % 6 END
  FROM generate_series(1, 300) g;
INSERT INTO events SELECT 9, g, 'x' FROM generate_series(1, 4000) g;
ANALYZE events;
SELECT * FROM scan_check('SELECT * FROM events WHERE a = 1');
SELECT * FROM scan_check('SELECT * FROM events WHERE a = 1 AND b = 2');
SELECT * FROM scan_check($$SELECT * FROM events WHERE a = 1 AND b = 2 AND c = 'c1'$$);
SELECT * FROM scan_check('SELECT * FROM events WHERE a = 1 AND c IS NULL');

DROP TABLE requests, events;
DROP FUNCTION scan_check(text);

-- (a), (b) single-row status update along a legal edge
-- (active <-> suspended); unqualified: run.sh sets search_path.
\set id random(1, :rows)
UPDATE items SET status = CASE status WHEN 'active' THEN 'suspended' ELSE 'active' END
 WHERE id = :id;

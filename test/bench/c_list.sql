-- (c) walkthrough: a user's latest orders.
\set uid random(1, :n_users)
SELECT order_id, status, created_at, total_amount, version
  FROM orders WHERE user_id = :uid ORDER BY created_at DESC LIMIT 20;

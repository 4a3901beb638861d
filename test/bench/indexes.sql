-- Secondary indexes of one variant (built after the load: faster).
CREATE INDEX ON :"s".orders (user_id, created_at DESC);
CREATE INDEX ON :"s".orders (status, created_at);
SELECT setval(format('%I.orders_id_seq', :'s')::regclass, :n_orders);

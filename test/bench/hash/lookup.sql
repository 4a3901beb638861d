-- (3) point lookup of a random existing key (pgbench -S style).
\set i random(1, :rows)
SELECT v FROM look WHERE k = md5(:i::text)::uuid::text;

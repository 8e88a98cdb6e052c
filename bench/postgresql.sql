-- The PostgreSQL server settings the benchmark is run with (docs/BENCHMARKS.md, "Server"):
-- a database server of this size is tuned for its memory, not left at the packaged
-- defaults (shared_buffers 128MB, max_wal_size 1GB). For the 2-core, 24 GiB machine:
--   psql -h 127.0.0.1 -U postgres -f bench/postgresql.sql
--   pg_ctlcluster --skip-systemctl-redirect 15 main restart    # shared_buffers needs a restart
ALTER SYSTEM SET shared_buffers = '4GB';            -- ~1/6 of RAM; the OS cache holds the rest
ALTER SYSTEM SET effective_cache_size = '16GB';
ALTER SYSTEM SET work_mem = '32MB';
ALTER SYSTEM SET maintenance_work_mem = '1GB';
ALTER SYSTEM SET max_wal_size = '8GB';              -- fewer checkpoints, fewer full-page images
ALTER SYSTEM SET checkpoint_timeout = '15min';
ALTER SYSTEM SET random_page_cost = 1.1;            -- SSD
ALTER SYSTEM SET effective_io_concurrency = 200;

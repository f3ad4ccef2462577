#!/bin/sh
# Runs once, when the official image initializes an empty data directory: the role the cell
# connects as owns the cell's database and nothing else (no superuser, no other databases).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="$CONCORD_PG_USER" -v password="$CONCORD_PG_PASSWORD" -v database="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER DATABASE :"database" OWNER TO :"role";
SQL

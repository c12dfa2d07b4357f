#!/bin/sh
# One-shot: gives the roles the migration created the passwords from .env. psql's :'var' quotes
# the values, so any character is safe here (the URLs in compose.yaml are stricter).
set -eu
psql -v ON_ERROR_STOP=1 -v reader="$READER_PASSWORD" -v debezium="$DEBEZIUM_PASSWORD" <<'SQL'
ALTER ROLE orders_reader PASSWORD :'reader';
ALTER ROLE orders_debezium PASSWORD :'debezium';
SQL
echo "role passwords set"

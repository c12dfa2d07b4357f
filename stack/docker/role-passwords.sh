#!/bin/sh
# One-shot: gives the roles the migration created the passwords from .env. psql's :'var' quotes
# the values, so any character is safe here (the URLs in compose.yaml are stricter). Every
# service that logs in waits for this step, so a placeholder or short password stops the whole
# deployment here, naming the .env variable, before anything uses it.
set -eu

refuse_weak() { # refuse_weak <.env variable> <value>
  case "$2" in
  *[Cc][Hh][Aa][Nn][Gg][Ee]-[Mm][Ee]*)
    echo "$1 is still the placeholder from .env.example; set a random value (openssl rand -hex 24)" >&2
    exit 1
    ;;
  esac
  if [ "${#2}" -lt 16 ]; then
    echo "$1 is ${#2} characters long; use at least 16 random ones (openssl rand -hex 24)" >&2
    exit 1
  fi
}
refuse_weak POSTGRES_PASSWORD "${PGPASSWORD:-}"
refuse_weak ORDERS_READER_PASSWORD "${READER_PASSWORD:-}"
refuse_weak ORDERS_DEBEZIUM_PASSWORD "${DEBEZIUM_PASSWORD:-}"

psql -v ON_ERROR_STOP=1 -v reader="$READER_PASSWORD" -v debezium="$DEBEZIUM_PASSWORD" <<'SQL'
ALTER ROLE orders_reader PASSWORD :'reader';
ALTER ROLE orders_debezium PASSWORD :'debezium';
SQL
echo "role passwords set"

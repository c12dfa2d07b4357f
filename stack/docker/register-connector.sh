#!/bin/sh
# One-shot: registers (or updates) the orders connector with the compose database host, the
# Debezium role's password from .env and a slot name of its own.
set -eu
case "$DEBEZIUM_PASSWORD" in
*[!A-Za-z0-9._~-]*) echo "ORDERS_DEBEZIUM_PASSWORD may only hold letters, digits and . _ ~ -" >&2; exit 1 ;;
esac
body=$(sed -e 's/"database.hostname": "127.0.0.1"/"database.hostname": "postgres"/' \
  -e "s/\"database.password\": \"[^\"]*\"/\"database.password\": \"$DEBEZIUM_PASSWORD\"/" \
  -e 's/"slot.name": "[^"]*"/"slot.name": "orders_compose_cdc"/' /connector.json |
  tr -d '\n' | sed -e 's/^.*"config": *\({[^}]*}\).*$/\1/')
curl -fsS -X PUT -H 'Content-Type: application/json' --data "$body" http://connect:8083/connectors/orders-cdc/config
echo

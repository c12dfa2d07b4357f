#!/bin/sh
# One-shot: registers (or updates) the orders connector with the compose database host.
set -eu
body=$(sed -e 's/"database.hostname": "127.0.0.1"/"database.hostname": "postgres"/' /connector.json |
  tr -d '\n' | sed -e 's/^.*"config": *\({[^}]*}\).*$/\1/')
curl -fsS -X PUT -H 'Content-Type: application/json' --data "$body" http://connect:8083/connectors/orders-cdc/config
echo

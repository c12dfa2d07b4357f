#!/bin/sh
# One-shot: registers (or updates) the orders connector with the compose database host, the
# Debezium role's password from .env and a slot name of its own, then waits until the connector
# and its task both report RUNNING. Every step retries until REGISTER_TIMEOUT_S; on failure the
# last answer from Connect (with the task's trace, when there is one) is printed and it exits 1.
set -eu

CONNECT_URL="${CONNECT_URL:-http://connect:8083}"
CONNECTOR_FILE="${CONNECTOR_FILE:-/connector.json}"
REGISTER_TIMEOUT_S="${REGISTER_TIMEOUT_S:-300}"
# Failed tasks Connect is asked to restart before giving up: a slot still held by the previous
# Connect container, for one, clears within seconds.
RESTARTS="${RESTARTS:-3}"

case "$DEBEZIUM_PASSWORD" in
*[!A-Za-z0-9._~-]*) echo "ORDERS_DEBEZIUM_PASSWORD may only hold letters, digits and . _ ~ -" >&2; exit 1 ;;
esac

name=$(tr -d '\n' <"$CONNECTOR_FILE" | sed -e 's/^[^"]*"name": *"\([^"]*\)".*$/\1/')
body=$(sed -e 's/"database.hostname": "127.0.0.1"/"database.hostname": "postgres"/' \
  -e "s/\"database.password\": \"[^\"]*\"/\"database.password\": \"$DEBEZIUM_PASSWORD\"/" \
  -e 's/"slot.name": "[^"]*"/"slot.name": "orders_compose_cdc"/' "$CONNECTOR_FILE" |
  tr -d '\n' | sed -e 's/^.*"config": *\({[^}]*}\).*$/\1/')

deadline=$(($(date +%s) + REGISTER_TIMEOUT_S))
answer=$(mktemp)
trap 'rm -f "$answer"' EXIT

# http METHOD PATH [BODY]: prints the status code (000 when Connect does not answer at all) and
# leaves the response body in $answer.
http() {
  if [ $# -ge 3 ]; then
    curl -sS -o "$answer" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
      --max-time 10 --data "$3" "$CONNECT_URL$2" 2>/dev/null || true
  else
    curl -sS -o "$answer" -w '%{http_code}' -X "$1" --max-time 10 "$CONNECT_URL$2" 2>/dev/null || true
  fi
}

give_up() {
  echo "register-connector: $1; last answer from $CONNECT_URL:" >&2
  cat "$answer" >&2 2>/dev/null || true
  echo >&2
  exit 1
}

wait_a_little() {
  [ "$(date +%s)" -lt "$deadline" ] || give_up "$1 within ${REGISTER_TIMEOUT_S}s"
  sleep 2
}

# 1. Connect is up: /health (Kafka 3.9+) answers 200 once the worker has joined its group and
#    loaded its plugins. The plugin listing is checked as well: without Debezium on the plugin
#    path the PUT below would fail with a less helpful message.
echo "register-connector: waiting for $CONNECT_URL"
until [ "$(http GET /health)" = 200 ]; do wait_a_little "Connect did not become healthy"; done
until [ "$(http GET /connector-plugins)" = 200 ] && grep -q 'PostgresConnector' "$answer"; do
  wait_a_little "the Debezium PostgreSQL plugin was not listed"
done

# 2. Create or update. 409 means a rebalance is in progress; anything but 200/201 is retried.
until code=$(http PUT "/connectors/$name/config" "$body") && { [ "$code" = 200 ] || [ "$code" = 201 ]; }; do
  echo "register-connector: PUT /connectors/$name/config answered $code; retrying" >&2
  wait_a_little "the connector could not be registered"
done
echo "register-connector: $name registered"

# 3. Running: the connector and every task (there must be at least one).
restarted=0
while :; do
  if [ "$(http GET "/connectors/$name/status")" = 200 ]; then
    status=$(tr -d ' \n' <"$answer")
    tasks=$(printf '%s' "$status" | sed -n 's/^.*"tasks":\[\(.*\)\].*$/\1/p')
    states=$(printf '%s' "$tasks" | grep -o '"state":"[A-Z]*"' || true)
    if printf '%s' "$status" | grep -q '"connector":{"state":"RUNNING"' &&
      [ -n "$states" ] && ! printf '%s\n' "$states" | grep -qv '"state":"RUNNING"'; then
      echo "register-connector: $name and its tasks are RUNNING"
      exit 0
    fi
    if printf '%s' "$status" | grep -q '"state":"FAILED"'; then
      [ "$restarted" -lt "$RESTARTS" ] || give_up "$name kept failing after $RESTARTS restarts"
      restarted=$((restarted + 1))
      echo "register-connector: $name failed; restart $restarted of $RESTARTS" >&2
      http POST "/connectors/$name/restart?includeTasks=true&onlyFailed=true" >/dev/null
    fi
  fi
  wait_a_little "$name did not reach RUNNING"
done

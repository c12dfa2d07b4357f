#!/usr/bin/env bash
# CI's compose check: where a container engine with compose is present, build the images, bring
# the whole compose stack up under its own project name and ports, and prove one change end to
# end (a gateway answers /readyz; a row written with psql reaches a WebSocket client). Where
# none is present it says so in the log and exits 0: the consistency test is all that ran.
set -euo pipefail
cd "$(dirname "$0")/../.."

# An engine counts when its compose command works and its daemon (or podman) answers.
usable() { "$1" compose version >/dev/null 2>&1 && "$1" info >/dev/null 2>&1; }
if usable docker; then
  compose=(docker compose)
elif usable podman; then
  compose=(podman compose)
else
  found="$(command -v docker podman | paste -sd ' ')"
  echo "compose: NOT EXERCISED - no usable container engine with compose here" \
    "(found: ${found:-none}); compose.yaml was checked only by stack/test/compose.test.ts"
  exit 0
fi
echo "compose: using ${compose[*]} ($("${compose[@]}" version 2>&1 | head -1))"

work="$(mktemp -d)"
random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
# Ports of their own, so a native stack or dev servers on this machine are left alone. The demo
# configuration .env.example ships: development-mode gateways and the token issuer on DEV_JWT_SECRET.
cat >"$work/env" <<ENV
POSTGRES_PASSWORD=$(random 16)
ORDERS_READER_PASSWORD=$(random 16)
ORDERS_DEBEZIUM_PASSWORD=$(random 16)
AUTH_MODE=development
DEV_JWT_SECRET=$(random 32)
ALLOWED_ORIGINS=http://localhost:13000,http://127.0.0.1:13000
KAFKA_CLUSTER_ID=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
WEB_PORT=13000
GATEWAY_1_PORT=18080
GATEWAY_2_PORT=18081
DEV_TOKEN_HOST_PORT=18090
ENV
set -a
# shellcheck disable=SC1091
. "$work/env"
set +a
dc() { "${compose[@]}" -p orders-ci --env-file "$work/env" --profile dev-tokens "$@"; }

cleanup() {
  local status=$?
  if ((status != 0)); then
    echo "compose: failed; service states and recent logs follow"
    dc ps -a || true
    dc logs --no-color --tail 80 || true
  fi
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for WHAT SECONDS COMMAND...: retries COMMAND every 3 s until it succeeds or time runs out.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "compose: $what not within ${seconds}s" >&2; return 1; }
    sleep 3
  done
  echo "compose: $what"
}

dc build
dc up -d
wait_for "gateway 1 ready" 900 curl -fsS "http://127.0.0.1:$GATEWAY_1_PORT/readyz"
wait_for "gateway 2 ready" 300 curl -fsS "http://127.0.0.1:$GATEWAY_2_PORT/readyz"
wait_for "page served" 120 curl -fsS "http://127.0.0.1:$WEB_PORT/healthz"
# The row must be written after Debezium streams, or it would arrive as part of the snapshot.
connector_running() {
  curl -fsS "http://127.0.0.1:18083/connectors/orders-cdc/status" | grep -q '"tasks":\[{"id":0,"state":"RUNNING"'
}
wait_for "connector running" 600 connector_running

GATEWAY_URL="ws://127.0.0.1:$GATEWAY_1_PORT/ws" \
  TOKEN_URL="http://127.0.0.1:$DEV_TOKEN_HOST_PORT/dev/token" \
  DATABASE_URL="postgres://postgres:$POSTGRES_PASSWORD@127.0.0.1:15432/orders" \
  PROBE_TIMEOUT_MS=300000 node --conditions=development --import tsx stack/docker/compose-probe.ts
echo "compose: end-to-end check passed"

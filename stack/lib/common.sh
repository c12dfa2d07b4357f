# Shared settings and helpers for the native stack scripts (sourced, not run).
# Everything the stack creates lives under $STACK_HOME (default: <repo>/.stack).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="$REPO_ROOT/stack"
STACK_HOME="${STACK_HOME:-$REPO_ROOT/.stack}"
# Jars may be shared between stack homes (the stack test runs a second stack on other ports).
LIB_DIR="${STACK_LIB_DIR:-$STACK_HOME/lib}"
RUN_DIR="$STACK_HOME/run"
LOG_DIR="$STACK_HOME/logs"
DATA_DIR="$STACK_HOME/data"
CONF_DIR="$STACK_HOME/config"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
CONNECT_PORT="${CONNECT_PORT:-8083}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

ORDERS_TOPIC="orders.public.orders"
ORDERS_PARTITIONS="${ORDERS_PARTITIONS:-6}"

mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR" "$CONF_DIR"

say() { printf '[stack] %s\n' "$*"; }
fail() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# Is the process in pid file $1 alive?
pid_alive() {
  local file="$RUN_DIR/$1.pid"
  [[ -f "$file" ]] && kill -0 "$(cat "$file")" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for NAME TIMEOUT_S LOG CHECK...: polls CHECK until it succeeds, naming the part and its log on failure.
wait_for() {
  local name="$1" timeout="$2" log="$3"
  shift 3
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - start >= timeout)); then
      [[ -f "$log" ]] && { echo "---- last lines of $log ----" >&2; tail -n 30 "$log" >&2; }
      fail "$name was not ready after ${timeout}s (log: $log)"
    fi
    sleep 1
  done
  say "$name ready ($((SECONDS - start))s)"
}

java_cp() { echo "$LIB_DIR/$1/*"; }

kafka_tool() {
  java -Xmx256m -cp "$(java_cp kafka)" -Dlog4j2.configurationFile="$CONF_DIR/log4j2-tools.properties" "$@"
}

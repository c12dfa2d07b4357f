# Shared settings and helpers for the native stack scripts (sourced, not run).
# Everything the stack creates lives under $STACK_HOME (default: <repo>/.stack).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="$REPO_ROOT/stack"
STACK_HOME="${STACK_HOME:-$REPO_ROOT/.stack}"
# Absolute, so the config paths in a JVM's command line (see our_jvm) are the same on every run.
mkdir -p "$STACK_HOME" && STACK_HOME="$(cd "$STACK_HOME" && pwd)"
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

# This stack's id, generated once and kept in $STACK_HOME/stack-id. Every replication slot this
# checkout creates carries it (orders_<id>_…), so cleanup can never match another project's slot.
# The test helpers in drizzle/src/testing read (or create) the same file.
stack_id() {
  local file="$STACK_HOME/stack-id" id
  if [[ ! -s "$file" ]]; then
    id="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    # noclobber: if a test helper wrote the file meanwhile, keep its id.
    (set -o noclobber && printf '%s\n' "$id" >"$file") 2>/dev/null || true
  fi
  id="$(tr -d '[:space:]' <"$file")"
  [[ "$id" =~ ^[a-z0-9]{1,16}$ ]] || fail "$file must hold 1-16 lowercase letters or digits, not '$id'"
  printf '%s\n' "$id"
}
STACK_ID="$(stack_id)"
SLOT_PREFIX="orders_${STACK_ID}_"
CONNECTOR_SLOT="${SLOT_PREFIX}cdc"
# The connector's name carries the id too: another checkout's stack on the same Connect keeps its own.
CONNECTOR_NAME="orders-cdc-${STACK_ID}"
# The PostgreSQL role Debezium logs in as, and its generated password (see ensure_cdc_role).
CDC_ROLE="orders_cdc_${STACK_ID}"
CDC_PASSWORD_FILE="$STACK_HOME/cdc-password"

# The config file each JVM is started with; its absolute path tells our JVMs from anything else.
service_config() {
  case "$1" in
  kafka) echo "$CONF_DIR/server.properties" ;;
  connect) echo "$CONF_DIR/connect.properties" ;;
  *) fail "unknown service $1" ;;
  esac
}

# Arguments of process $1, one per line (empty if it does not exist).
process_args() {
  if [[ -r "/proc/$1/cmdline" ]]; then
    tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null || true
  else
    ps -o args= -p "$1" 2>/dev/null | tr ' ' '\n' || true # no /proc (macOS): good enough for our paths
  fi
}

# Does pid $1 exist and run (not a zombie waiting to be reaped)?
process_running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z* ]]
}

# Is pid $2 a java process started with this STACK_HOME's config file of service $1?
our_jvm() {
  local args
  args="$(process_args "$2")"
  [[ -n "$args" ]] || return 1
  # Right after start_jvm, the pid may still be the setsid/nohup that is about to exec java.
  local program
  program="$(grep -vxE '(.*/)?(setsid|nohup)' <<<"$args" | head -n 1 || true)"
  [[ "$(basename -- "$program")" == java ]] || return 1
  grep -qxF -- "$(service_config "$1")" <<<"$args"
}

# Prints the pid of service $1 if its pid file names a JVM of this stack. A pid file naming a
# dead or unrelated process (pids get reused) is removed, and that process is never signalled.
service_pid() {
  local file="$RUN_DIR/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(tr -d '[:space:]' <"$file")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && our_jvm "$1" "$pid"; then
    echo "$pid"
    return 0
  fi
  local what="no such process"
  [[ "$pid" =~ ^[0-9]+$ && -n "$(process_args "$pid")" ]] && what="a process that is not this stack's $1, left alone"
  say "ignoring stale pid file $file (pid '$pid': $what); removed it" >&2
  rm -f "$file"
  return 1
}

pid_alive() { service_pid "$1" >/dev/null; }

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

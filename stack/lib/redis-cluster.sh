# A local Redis Cluster of masters only (no replicas, no persistence) for trying and testing
# cluster mode: one redis-server per port, each with its directory, log and pid file under
# $STACK_HOME, joined with `redis-cli --cluster create`. Sourced after common.sh.

# Comma- or space-separated; each port also needs port+10000 free (the cluster bus).
REDIS_CLUSTER_PORTS="${REDIS_CLUSTER_PORTS:-7001,7002,7003}"
read -r -a CLUSTER_PORTS <<<"${REDIS_CLUSTER_PORTS//,/ }"
CLUSTER_DIR="$DATA_DIR/redis-cluster"

# Each entry names a directory that 'down' deletes, a pid file and an address, so anything but
# a plain port number stops every command here before it is used. The bus port must exist too:
# at most 55535. No leading zeros or repeats, so one node has one directory.
validate_cluster_ports() {
  local port seen=" "
  ((${#CLUSTER_PORTS[@]} > 0)) || fail "REDIS_CLUSTER_PORTS lists no port"
  for port in "${CLUSTER_PORTS[@]}"; do
    [[ "$port" =~ ^[1-9][0-9]{0,4}$ ]] && ((port <= 55535)) ||
      fail "REDIS_CLUSTER_PORTS must list ports from 1 to 55535 (each also uses port+10000), not '$port'"
    [[ "$seen" != *" $port "* ]] || fail "REDIS_CLUSTER_PORTS lists port $port twice"
    seen+="$port "
  done
}
validate_cluster_ports

cluster_node_dir() { echo "$CLUSTER_DIR/$1"; }
cluster_pid_file() { echo "$RUN_DIR/redis-cluster-$1.pid"; }

# The REDIS_CLUSTER value that reaches this cluster.
cluster_seeds() {
  local port seeds=()
  for port in "${CLUSTER_PORTS[@]}"; do seeds+=("redis://127.0.0.1:$port"); done
  (IFS=,; echo "${seeds[*]}")
}

node_cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# Is pid $2 the redis-server of this stack's node on port $1? redis-server rewrites its command
# line, so the test is its working directory: it chdirs to the node's own directory (--dir).
our_redis_node() {
  local port="$1" pid="$2" dir
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  local program
  program="$(ps -o comm= -p "$pid" 2>/dev/null || true)"
  [[ -n "$program" && "$(basename -- "$program")" == redis-server ]] || return 1
  dir="$(cluster_node_dir "$port")"
  if [[ -e "/proc/$pid/cwd" ]]; then
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$dir" ]]
  else # no /proc (macOS): ask the server on the port, and check it is that pid
    [[ "$(node_cli "$port" --raw CONFIG GET dir 2>/dev/null | sed -n 2p)" == "$dir" ]] &&
      [[ "$(node_cli "$port" INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')" == "$pid" ]]
  fi
}

# Prints the pid of this stack's node on port $1, if it runs. A pid file naming anything else
# (a dead process, a reused pid) is removed and that process never signalled.
cluster_node_pid() {
  local file pid
  file="$(cluster_pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(tr -d '[:space:]' <"$file")"
  if our_redis_node "$1" "$pid"; then
    echo "$pid"
    return 0
  fi
  say "ignoring stale pid file $file (pid '$pid' is not this stack's Redis node on port $1); removed it" >&2
  rm -f "$file"
  return 1
}

node_answers() { [[ "$(node_cli "$1" PING 2>/dev/null)" == PONG ]]; }

# A field of CLUSTER INFO on the node of port $1.
cluster_info() { node_cli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

start_cluster_node() {
  local port="$1" dir pid
  if pid="$(cluster_node_pid "$port")"; then
    say "redis cluster node :$port already running (pid $pid)"
    return
  fi
  port_open "$port" && fail "port $port is taken by a process that is not this stack's Redis node; stop it or set REDIS_CLUSTER_PORTS"
  port_open "$((port + 10000))" && fail "port $((port + 10000)) (cluster bus of node :$port) is taken; set REDIS_CLUSTER_PORTS"
  dir="$(cluster_node_dir "$port")"
  mkdir -p "$dir"
  say "starting redis cluster node :$port"
  # --daemonize writes the pid file itself; nodes.conf (the node's view of the cluster) stays
  # in its directory, so a node restarted by 'up' rejoins; the data itself is never saved.
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 5000 --save "" --appendonly no --dir "$dir" \
    --logfile "$LOG_DIR/redis-cluster-$port.log" --pidfile "$(cluster_pid_file "$port")" --daemonize yes ||
    fail "redis-server on port $port did not start (log: $LOG_DIR/redis-cluster-$port.log)"
}

# Every node reports the cluster healthy and knows all the others.
cluster_ok() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    [[ "$(cluster_info "$port" cluster_state)" == ok ]] || return 1
    [[ "$(cluster_info "$port" cluster_known_nodes)" == "${#CLUSTER_PORTS[@]}" ]] || return 1
  done
}

start_cluster() {
  command -v redis-server >/dev/null || fail "redis-server is required for the local Redis Cluster"
  command -v redis-cli >/dev/null || fail "redis-cli is required for the local Redis Cluster"
  ((${#CLUSTER_PORTS[@]} >= 3)) || fail "a Redis Cluster needs at least 3 masters; REDIS_CLUSTER_PORTS has ${#CLUSTER_PORTS[@]}"
  local port
  for port in "${CLUSTER_PORTS[@]}"; do start_cluster_node "$port"; done
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_for "redis cluster node :$port" 30 "$LOG_DIR/redis-cluster-$port.log" node_answers "$port"
  done
  if cluster_ok; then
    say "redis cluster already formed"
    return
  fi
  # Create only from nodes that belong to no cluster yet; anything else is a half-formed
  # cluster that 'down' (which forgets it) and 'up' rebuild, rather than a guess here.
  local fresh=0 addresses=()
  for port in "${CLUSTER_PORTS[@]}"; do
    addresses+=("127.0.0.1:$port")
    [[ "$(cluster_info "$port" cluster_slots_assigned)" == 0 && "$(cluster_info "$port" cluster_known_nodes)" == 1 ]] &&
      fresh=$((fresh + 1))
  done
  if ((fresh == ${#CLUSTER_PORTS[@]})); then
    say "creating the cluster: ${addresses[*]}"
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes \
      >"$LOG_DIR/redis-cluster-create.log" 2>&1 ||
      { tail -n 20 "$LOG_DIR/redis-cluster-create.log" >&2; fail "redis-cli --cluster create failed"; }
  fi
  # A node restarted into a formed cluster needs a few seconds to be seen by the others.
  local start=$SECONDS
  until cluster_ok; do
    ((SECONDS - start < 30)) ||
      fail "the nodes on ports ${CLUSTER_PORTS[*]} do not form one healthy cluster; run 'npm run stack:cluster:down', then up again"
    sleep 0.5
  done
  say "redis cluster is up: REDIS_CLUSTER=$(cluster_seeds)"
}

stop_cluster_node() {
  local port="$1" pid
  if ! pid="$(cluster_node_pid "$port")"; then
    say "redis cluster node :$port not running"
    return
  fi
  say "stopping redis cluster node :$port (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if our_redis_node "$port" "$pid"; then
    say "redis cluster node :$port did not stop in 10s; killing"
    kill -KILL "$pid"
  fi
  rm -f "$(cluster_pid_file "$port")"
}

# Stops this stack's nodes (nothing else) and forgets the cluster: its data was never saved,
# and fresh nodes let the next 'up' create it again.
stop_cluster() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do stop_cluster_node "$port"; done
  for port in "${CLUSTER_PORTS[@]}"; do
    if port_open "$port"; then
      say "port $port still answers (a node this stack did not start); its directory is kept"
    else
      rm -rf "$(cluster_node_dir "$port")"
    fi
  done
  rmdir "$CLUSTER_DIR" 2>/dev/null || true
  say "redis cluster is down"
}

cluster_status() {
  local port pid down=0
  for port in "${CLUSTER_PORTS[@]}"; do
    if pid="$(cluster_node_pid "$port")"; then say "redis cluster node :$port: up (pid $pid)"; else
      say "redis cluster node :$port: DOWN"
      down=1
    fi
  done
  if cluster_ok; then say "redis cluster: ok (REDIS_CLUSTER=$(cluster_seeds))"; else
    say "redis cluster: NOT OK"
    down=1
  fi
  return "$down"
}

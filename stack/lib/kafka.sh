# Kafka broker (KRaft) and Kafka Connect as background JVMs with pid files under $RUN_DIR.

render_config() {
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@KAFKA_CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    -e "s#@CONNECT_PORT@#$CONNECT_PORT#g" -e "s#@DATA_DIR@#$DATA_DIR#g" -e "s#@LIB_DIR@#$LIB_DIR#g" \
    "$STACK_DIR/config/$1" >"$CONF_DIR/$1"
}

render_configs() {
  local f
  for f in server.properties connect.properties log4j2.properties log4j2-tools.properties; do render_config "$f"; done
}

# Starts NAME (java MAIN ARGS...) detached unless it already runs. A healthy service of the same
# kind on the port (e.g. started from another checkout) is reused and left alone by stack/down.
start_jvm() {
  local name="$1" port="$2" heap="$3"
  shift 3
  local pid
  if pid="$(service_pid "$name")"; then
    say "$name already running (pid $pid)"
    return
  fi
  if port_open "$port"; then
    if "${name}_answers"; then
      say "$name already answers on port $port (not started here: stack:down will leave it running)"
      return
    fi
    fail "port $port is taken by something that is not a working $name; stop it or set ${name^^}_PORT"
  fi
  say "starting $name"
  setsid nohup java "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties" "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN_DIR/$name.pid"
  # Until the forked shell has exec'd into java, the pid names a bash process, and service_pid
  # would take the fresh pid file for a stale one. Wait for the exec (or the early death).
  local waited=0
  until our_jvm "$name" "$pid"; do
    # While exec replaces the process image its command line reads empty for a moment: only a
    # pid that is gone (or a zombie) means the JVM died.
    if [[ -z "$(process_args "$pid")" ]] && ! process_running "$pid"; then
      fail "$name exited right after start (log: $LOG_DIR/$name.log)"
    fi
    ((waited++ < 100)) || fail "$name (pid $pid) did not become java within 10s"
    sleep 0.1
  done
}

start_kafka() {
  # Format only when this checkout will start the broker itself (not when reusing one).
  if ! pid_alive kafka && ! port_open "$KAFKA_PORT" && [[ ! -f "$DATA_DIR/kraft/meta.properties" ]]; then
    say "formatting KRaft storage"
    kafka_tool kafka.tools.StorageTool format -t "$(kafka_tool kafka.tools.StorageTool random-uuid)" \
      -c "$CONF_DIR/server.properties" >"$LOG_DIR/kafka-format.log" 2>&1 ||
      fail "formatting KRaft storage failed (log: $LOG_DIR/kafka-format.log)"
    drop_orphaned_slots
  fi
  start_jvm kafka "$KAFKA_PORT" 768m -cp "$(java_cp kafka)" kafka.Kafka "$CONF_DIR/server.properties"
  wait_for "Kafka broker" 90 "$LOG_DIR/kafka.log" kafka_ready
}

kafka_ready() {
  pid_alive kafka || port_open "$KAFKA_PORT" || return 1
  kafka_answers
}

kafka_answers() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list
}

create_topic() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1 >/dev/null ||
    fail "could not create topic $1"
}

start_connect() {
  start_jvm connect "$CONNECT_PORT" 1g -cp "$(java_cp connect)" \
    org.apache.kafka.connect.cli.ConnectDistributed "$CONF_DIR/connect.properties"
  wait_for "Kafka Connect" 180 "$LOG_DIR/connect.log" connect_ready
}

connect_ready() {
  pid_alive connect || port_open "$CONNECT_PORT" || return 1
  connect_answers
}

connect_answers() {
  curl -fsS "http://127.0.0.1:$CONNECT_PORT/connector-plugins" | grep -q PostgresConnector
}

# PUT /connectors/<name>/config creates or updates: registering twice changes nothing. The name
# and slot are this stack's (see stack_id), the database port the one the scripts use. Only into
# a Connect this stack started: one that merely answers on the port belongs to someone else.
register_connector() {
  local file="$STACK_DIR/connector.json" name="$CONNECTOR_NAME" config
  service_pid connect >/dev/null ||
    fail "Kafka Connect on port $CONNECT_PORT was not started by this stack ($STACK_HOME); its connectors are someone else's, so $name is not registered there. Stop that Connect, or give this stack a port of its own (CONNECT_PORT)"
  [[ -s "$CDC_PASSWORD_FILE" ]] || fail "$CDC_PASSWORD_FILE is missing; run stack/up"
  config="$(node -e '
    const fs = require("fs");
    const [file, slot, port, user, passwordFile] = process.argv.slice(1);
    const { config } = JSON.parse(fs.readFileSync(file, "utf8"));
    const login = { "database.user": user, "database.password": fs.readFileSync(passwordFile, "utf8").trim() };
    console.log(JSON.stringify({ ...config, ...login, "slot.name": slot, "database.port": port }));
  ' "$file" "$CONNECTOR_SLOT" "$PGPORT" "$CDC_ROLE" "$CDC_PASSWORD_FILE")"
  # Before names carried the stack id this stack's connector was orders-cdc; it is this stack's
  # own if it holds this stack's slot, and would keep that slot from the renamed one.
  if curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/orders-cdc/config" 2>/dev/null |
    grep -qF "\"slot.name\":\"$CONNECTOR_SLOT\""; then
    say "removing connector orders-cdc (this stack's, named before names carried the stack id)"
    curl -fsS -X DELETE "http://127.0.0.1:$CONNECT_PORT/connectors/orders-cdc" >/dev/null ||
      fail "could not remove connector orders-cdc"
  fi
  record_slot "$CONNECTOR_SLOT"
  # The config holds the password: on stdin, not on curl's command line.
  printf '%s' "$config" | curl -fsS -X PUT -H 'Content-Type: application/json' --data @- \
    "http://127.0.0.1:$CONNECT_PORT/connectors/$name/config" >"$LOG_DIR/register.log" 2>&1 ||
    { cat "$LOG_DIR/register.log" >&2; fail "registering connector $name failed (log: $LOG_DIR/connect.log)"; }
  wait_for "connector $name" 90 "$LOG_DIR/connect.log" connector_running "$name"
}

# $STACK_HOME/slots lists the slots this stack had Debezium create, for whoever cleans up by hand.
record_slot() {
  grep -qxF "$1" "$STACK_HOME/slots" 2>/dev/null || echo "$1" >>"$STACK_HOME/slots"
}

connector_running() {
  curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/$1/status" | grep -q '"tasks":\[{"id":0,"state":"RUNNING"'
}

# A freshly formatted cluster has no Connect offsets, so replication slots left by an earlier
# cluster of this stack can never be resumed: they only pin WAL. Drops the inactive ones whose
# names carry this stack's id (its connector's and its test connectors'); Debezium recreates its
# slot and snapshots. Slots of other stacks, checkouts and projects are never touched.
drop_orphaned_slots() {
  local dropped
  dropped="$(psql -d postgres -v ON_ERROR_STOP=1 -v prefix="$SLOT_PREFIX" -At <<'SQL'
select s.slot_name from pg_replication_slots s
cross join lateral (select pg_drop_replication_slot(s.slot_name)) dropped
where not s.active and starts_with(s.slot_name::text, :'prefix')
SQL
)" || fail "could not drop this stack's orphaned replication slots"
  if [[ -z "$dropped" ]]; then
    say "no orphaned replication slots of this stack (prefix $SLOT_PREFIX)"
  else
    say "dropped replication slot(s) of this stack left by an earlier Kafka cluster: ${dropped//$'\n'/ }"
  fi
}

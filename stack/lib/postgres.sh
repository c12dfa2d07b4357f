# Makes sure PostgreSQL runs with logical replication and the orders database is migrated.

# Replication slots and WAL senders the stack wants: one of each per connector (the stack's own
# and one per integration suite running at the same time).
WANTED_REPLICATION_SLOTS=32
WANTED_WAL_SENDERS=32

# replication_settings_plan WAL_LEVEL SLOTS SENDERS: prints "setting current wanted" for each
# setting that must change. Settings are only ever raised, never lowered, and wal_level is only
# changed when it is not logical already. Pure, so it can be checked without a server.
replication_settings_plan() {
  local level="$1" slots="$2" senders="$3"
  [[ "$slots" =~ ^[0-9]+$ && "$senders" =~ ^[0-9]+$ ]] || fail "unexpected settings: slots '$slots', senders '$senders'"
  [[ "$level" == logical ]] || echo "wal_level $level logical"
  ((slots >= WANTED_REPLICATION_SLOTS)) || echo "max_replication_slots $slots $WANTED_REPLICATION_SLOTS"
  ((senders >= WANTED_WAL_SENDERS)) || echo "max_wal_senders $senders $WANTED_WAL_SENDERS"
}

# The plan for the server the scripts point at (read-only).
current_replication_plan() {
  local level slots senders
  level="$(psql -d postgres -Atc 'show wal_level')"
  slots="$(psql -d postgres -Atc 'show max_replication_slots')"
  senders="$(psql -d postgres -Atc 'show max_wal_senders')"
  replication_settings_plan "$level" "$slots" "$senders"
}

ensure_postgres() {
  command -v psql >/dev/null || fail "psql is required (PostgreSQL client)"
  psql -d postgres -Atc 'select 1' >/dev/null 2>&1 ||
    fail "PostgreSQL is not reachable at $PGHOST:$PGPORT as $PGUSER; start it first"
  local plan
  plan="$(current_replication_plan)"
  if ! grep -q '^wal_level ' <<<"$plan"; then
    # Only the slot counts are low: not worth restarting someone's server over; say how.
    local setting current wanted
    while read -r setting current wanted; do
      [[ -n "$setting" ]] || continue
      say "note: $setting is $current; parallel test suites may need $wanted (ALTER SYSTEM SET $setting = $wanted, then restart PostgreSQL)"
    done <<<"$plan"
    say "PostgreSQL ready (wal_level=logical)"
    return
  fi
  # Which cluster would restart, and consent to it, before anything is changed: a server
  # that cannot be restarted from here must not be left with a pending ALTER SYSTEM.
  local cluster
  cluster="$(restart_target)" || exit 1
  confirm_restart "$cluster" "$plan"
  apply_replication_plan "$plan"
  restart_postgres "$cluster"
  local level
  level="$(psql -d postgres -Atc 'show wal_level')"
  [[ "$level" == "logical" ]] || fail "wal_level is still '$level' after the restart"
  say "PostgreSQL ready (wal_level=logical)"
}

apply_replication_plan() {
  local setting current wanted
  while read -r setting current wanted; do
    [[ -n "$setting" ]] || continue
    psql -d postgres -v ON_ERROR_STOP=1 -qc "ALTER SYSTEM SET $setting = '$wanted'" ||
      fail "could not change $setting"
    say "changed $setting: $current -> $wanted (ALTER SYSTEM; takes effect on restart)"
  done <<<"$1"
}

# cluster_on_port PORT: reads `pg_lsclusters -h` lines (Ver Cluster Port Status ...) on stdin and
# prints "version cluster" of the one cluster listening on PORT; fails if none or several do.
cluster_on_port() {
  local port="$1" ver name p _rest found=()
  while read -r ver name p _rest; do
    [[ "$p" == "$port" ]] && found+=("$ver $name")
  done
  ((${#found[@]} == 1)) || return 1
  echo "${found[0]}"
}

# restart_target: prints "version cluster" of the local cluster on PGPORT, or fails saying how
# to do it by hand (a server elsewhere, no pg_lsclusters, no single cluster on the port).
restart_target() {
  local manual="set wal_level=logical (and the slot settings above) on PostgreSQL at $PGHOST:$PGPORT and restart it yourself, then rerun"
  case "$PGHOST" in
  127.0.0.1 | localhost | ::1 | /*) ;;
  *) fail "PostgreSQL at $PGHOST is not on this machine; $manual" ;;
  esac
  command -v pg_lsclusters >/dev/null && command -v pg_ctlcluster >/dev/null || fail "$manual"
  pg_lsclusters -h | cluster_on_port "$PGPORT" ||
    fail "no single cluster in pg_lsclusters listens on port $PGPORT; $manual"
}

# confirm_restart CLUSTER PLAN: the server may be the user's own, so a restart needs consent:
# STACK_ALLOW_PG_RESTART=1 (CI sets it), or a yes at the terminal. Otherwise nothing changes.
confirm_restart() {
  local cluster="$1" plan="$2"
  [[ "${STACK_ALLOW_PG_RESTART:-}" == 1 ]] && return 0
  local what
  what="$(awk 'NF { printf "%s%s=%s", sep, $1, $3; sep=", " }' <<<"$plan")"
  if [[ -t 0 ]]; then
    local answer
    read -r -p "[stack] PostgreSQL cluster $cluster (port $PGPORT) needs $what and a restart. Restart it now? [y/N] " answer
    [[ "$answer" == [yY]* ]] && return 0
  fi
  fail "PostgreSQL cluster $cluster (port $PGPORT) needs $what and a restart; nothing was changed. Run again with STACK_ALLOW_PG_RESTART=1 to allow it, or change the settings and restart it yourself"
}

# restart_postgres [CLUSTER]: restarts that cluster (by default the one restart_target finds).
restart_postgres() {
  local cluster="${1:-}"
  [[ -n "$cluster" ]] || cluster="$(restart_target)" || exit 1
  say "restarting PostgreSQL cluster $cluster (port $PGPORT)"
  # shellcheck disable=SC2086 # "version name"
  pg_ctlcluster --skip-systemctl-redirect $cluster restart ||
    fail "could not restart PostgreSQL; run: pg_ctlcluster $cluster restart"
  wait_for "PostgreSQL" 30 "" psql -d postgres -Atc 'select 1'
}

migrate_orders_db() {
  say "migrating database 'orders'"
  (cd "$REPO_ROOT" && npm run -s migrate -w @orders/drizzle) >"$LOG_DIR/migrate.log" 2>&1 ||
    { tail -n 20 "$LOG_DIR/migrate.log" >&2; fail "migration failed (log: $LOG_DIR/migrate.log)"; }
}

# Debezium logs in as this stack's own role (CDC_ROLE, see common.sh) with a password made here
# once and kept in CDC_PASSWORD_FILE (mode 600): replication reads the WAL of the whole cluster,
# so no login that can do it has a password anyone could know. The role is a member of
# orders_debezium (the migration's grants: CONNECT, SELECT on orders) and has REPLICATION itself
# (that attribute is never inherited). Stacks sharing a cluster each have their own role, so
# none changes another's password.

ensure_cdc_role() {
  local password
  if [[ ! -s "$CDC_PASSWORD_FILE" ]]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' \
      >"$CDC_PASSWORD_FILE") || fail "could not write $CDC_PASSWORD_FILE"
  fi
  password="$(<"$CDC_PASSWORD_FILE")"
  [[ "$password" =~ ^[A-Za-z0-9_-]{16,}$ ]] ||
    fail "$CDC_PASSWORD_FILE must hold 16 or more letters, digits, _ or - (delete it to have a new one made)"
  # On stdin, not the command line, where any local user could read the password.
  psql -d postgres -v ON_ERROR_STOP=1 -q >"$LOG_DIR/cdc-role.log" 2>&1 <<SQL ||
\set role '$CDC_ROLE'
\set password '$password'
select format('CREATE ROLE %I', :'role') where not exists (select from pg_roles where rolname = :'role') \gexec
select format('ALTER ROLE %I LOGIN REPLICATION PASSWORD %L', :'role', :'password') \gexec
select format('GRANT orders_debezium TO %I', :'role') \gexec
-- Older migrations gave orders_debezium the fixed password 'debezium'; nothing here logs in as it.
ALTER ROLE orders_debezium PASSWORD NULL;
SQL
    { cat "$LOG_DIR/cdc-role.log" >&2; fail "could not set up role $CDC_ROLE (log: $LOG_DIR/cdc-role.log)"; }
  say "Debezium logs in as $CDC_ROLE (password in $CDC_PASSWORD_FILE)"
}

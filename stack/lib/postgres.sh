# Makes sure PostgreSQL runs with logical replication and the orders database is migrated.
ensure_postgres() {
  command -v psql >/dev/null || fail "psql is required (PostgreSQL client)"
  psql -d postgres -Atc 'select 1' >/dev/null 2>&1 ||
    fail "PostgreSQL is not reachable at $PGHOST:$PGPORT as $PGUSER; start it first"
  local level
  level="$(psql -d postgres -Atc 'show wal_level')"
  if [[ "$level" != "logical" ]]; then
    say "PostgreSQL wal_level is '$level'; switching to 'logical' (needs a restart)"
    psql -d postgres -qc "ALTER SYSTEM SET wal_level = 'logical'" \
      -c "ALTER SYSTEM SET max_replication_slots = 32" -c "ALTER SYSTEM SET max_wal_senders = 32"
    restart_postgres
    level="$(psql -d postgres -Atc 'show wal_level')"
    [[ "$level" == "logical" ]] || fail "wal_level is still '$level' after the restart"
  fi
  say "PostgreSQL ready (wal_level=logical)"
}

restart_postgres() {
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    local version
    version="$(psql -d postgres -Atc 'show server_version_num' | cut -c1-2)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main restart ||
      fail "could not restart PostgreSQL; run: pg_ctlcluster $version main restart"
  else
    fail "restart PostgreSQL yourself so wal_level=logical takes effect (e.g. pg_ctl restart -D <datadir>), then rerun"
  fi
  wait_for "PostgreSQL" 30 "" psql -d postgres -Atc 'select 1'
}

migrate_orders_db() {
  say "migrating database 'orders'"
  (cd "$REPO_ROOT" && npm run -s migrate -w @orders/drizzle) >"$LOG_DIR/migrate.log" 2>&1 ||
    { tail -n 20 "$LOG_DIR/migrate.log" >&2; fail "migration failed (log: $LOG_DIR/migrate.log)"; }
}

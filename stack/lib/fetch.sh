# Resolves Kafka, Connect and the Debezium PostgreSQL plugin from Maven Central into $LIB_DIR.
# A marker keyed by the pom's checksum makes later runs skip Maven entirely.
fetch_jars() {
  local sum marker
  sum="$(sha256sum "$STACK_DIR/pom.xml" | cut -c1-16)"
  marker="$LIB_DIR/.resolved-$sum"
  if [[ -f "$marker" ]]; then
    say "jars cached in $LIB_DIR"
    return
  fi
  command -v mvn >/dev/null || fail "Maven (mvn) is required to fetch Kafka and Debezium"
  rm -rf "$LIB_DIR" && mkdir -p "$LIB_DIR"
  local profile
  for profile in kafka connect; do
    say "resolving $profile jars (Maven; first run only)…"
    mvn -B -ntp -q -f "$STACK_DIR/pom.xml" -P"$profile" dependency:copy-dependencies \
      -DoutputDirectory="$LIB_DIR/$profile" -DincludeScope=runtime >"$LOG_DIR/maven-$profile.log" 2>&1 ||
      fail "Maven could not resolve the $profile jars (log: $LOG_DIR/maven-$profile.log)"
    say "  $(ls "$LIB_DIR/$profile" | wc -l) jars in lib/$profile"
  done
  say "resolving the Debezium PostgreSQL connector plugin…"
  mvn -B -ntp -q -f "$STACK_DIR/pom.xml" -Pdebezium dependency:copy-dependencies -DexcludeTransitive=true \
    -DoutputDirectory="$LIB_DIR/debezium-archive" >"$LOG_DIR/maven-debezium.log" 2>&1 ||
    fail "Maven could not resolve Debezium (log: $LOG_DIR/maven-debezium.log)"
  mkdir -p "$LIB_DIR/plugins"
  tar -xzf "$LIB_DIR"/debezium-archive/debezium-connector-postgres-*-plugin.tar.gz -C "$LIB_DIR/plugins"
  # Connect brings its own slf4j/log4j; duplicates in the plugin only produce warnings.
  touch "$marker"
  say "jars ready"
}

# Resolves Kafka, Connect and the Debezium PostgreSQL plugin from Maven Central into $LIB_DIR.
# A marker keyed by the pom's checksum makes later runs skip Maven entirely.

# $LIB_DIR may be any directory STACK_LIB_DIR names, so nothing in it is deleted unless this
# file says the scripts made it, and then only the parts below (the jars of an older pom).
LIB_OWNER_MARKER=".orders-stack-lib"
LIB_PARTS=(kafka connect debezium-archive plugins)

# Makes $LIB_DIR the stack's jar directory: a new or empty one, or one these scripts made
# (the owner file, or the .resolved-* markers of earlier versions). Anything else is refused.
claim_lib_dir() {
  [[ ! -e "$LIB_DIR" || -d "$LIB_DIR" ]] || fail "STACK_LIB_DIR: $LIB_DIR is not a directory"
  if [[ -d "$LIB_DIR" && ! -f "$LIB_DIR/$LIB_OWNER_MARKER" ]] && ! compgen -G "$LIB_DIR/.resolved-*" >/dev/null &&
    [[ -n "$(ls -A "$LIB_DIR")" ]]; then
    fail "$LIB_DIR holds files the stack scripts did not put there, and they clear what they put in it; set STACK_LIB_DIR to a new or empty directory for the jars"
  fi
  mkdir -p "$LIB_DIR"
  touch "$LIB_DIR/$LIB_OWNER_MARKER"
}

fetch_jars() {
  local sum marker
  sum="$(sha256sum "$STACK_DIR/pom.xml" | cut -c1-16)"
  marker="$LIB_DIR/.resolved-$sum"
  if [[ -f "$marker" ]]; then
    say "jars cached in $LIB_DIR"
    return
  fi
  command -v mvn >/dev/null || fail "Maven (mvn) is required to fetch Kafka and Debezium"
  claim_lib_dir
  local part
  for part in "${LIB_PARTS[@]}"; do rm -rf "${LIB_DIR:?}/$part"; done
  rm -f "$LIB_DIR"/.resolved-*
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

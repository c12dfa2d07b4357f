# Kafka Connect with the Debezium PostgreSQL plugin, resolved from the same stack/pom.xml the
# native launcher uses, so Docker and native runs share one set of versions.
FROM maven:3.9.11-eclipse-temurin-17 AS jars
WORKDIR /build
COPY stack/pom.xml .
RUN mvn -B -ntp -q -Pconnect dependency:copy-dependencies -DoutputDirectory=/opt/connect/libs -DincludeScope=runtime \
 && mvn -B -ntp -q -Pdebezium dependency:copy-dependencies -DexcludeTransitive=true -DoutputDirectory=/tmp/dbz \
 && mkdir -p /opt/connect/plugins && tar -xzf /tmp/dbz/debezium-connector-postgres-*-plugin.tar.gz -C /opt/connect/plugins

FROM eclipse-temurin:17.0.16_8-jre
# Newer Temurin images no longer ship curl; compose's healthcheck asks GET /health with it.
RUN apt-get update && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=jars /opt/connect /opt/connect
COPY stack/config/connect.properties stack/config/log4j2.properties /opt/connect/config/
RUN sed -i -e 's#127.0.0.1:@KAFKA_PORT@#kafka:9092#' -e 's#http://127.0.0.1:@CONNECT_PORT@#http://0.0.0.0:8083#' \
      -e 's#@LIB_DIR@/plugins#/opt/connect/plugins#' /opt/connect/config/connect.properties \
 && echo 'rest.advertised.host.name=connect' >> /opt/connect/config/connect.properties
# Connect keeps its state in Kafka topics and logs to stdout: it writes nothing here, so it
# runs as a user of its own that can read the jars and config but change none of them.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent connect
USER 10001:10001
EXPOSE 8083
CMD ["java", "-Xmx1g", "-Dlog4j2.configurationFile=/opt/connect/config/log4j2.properties", \
     "-cp", "/opt/connect/libs/*", "org.apache.kafka.connect.cli.ConnectDistributed", "/opt/connect/config/connect.properties"]

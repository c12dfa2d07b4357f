-- Change-data-capture setup. Every statement is safe to run again, because roles are
-- cluster-global and many databases (one per test suite) get migrated on the same server.

-- Updates and deletes must carry the whole previous row, not just the key.
ALTER TABLE "orders" REPLICA IDENTITY FULL;
--> statement-breakpoint

-- Version and updated_at are bumped here, not by the app, so psql and studio edits count too.
CREATE OR REPLACE FUNCTION "orders_bump_version"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE TRIGGER "orders_bump_version"
BEFORE UPDATE ON "orders"
FOR EACH ROW EXECUTE FUNCTION "orders_bump_version"();
--> statement-breakpoint

-- Debezium runs with publication.autocreate.mode=disabled, so it needs no table ownership.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'orders_publication') THEN
    CREATE PUBLICATION "orders_publication" FOR TABLE "orders";
  END IF;
END;
$$;
--> statement-breakpoint

-- Two databases migrating at once may both see the role missing; the loser of that race
-- gets duplicate_object or unique_violation, which only means the role now exists.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_debezium') THEN
    BEGIN
      -- No password: whoever deploys gives it one (compose: ORDERS_DEBEZIUM_PASSWORD), and the
      -- native stack logs in as a role of its own with a generated one (stack/lib/postgres.sh).
      CREATE ROLE "orders_debezium" LOGIN REPLICATION;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_reader') THEN
    BEGIN
      CREATE ROLE "orders_reader" LOGIN PASSWORD 'reader';
      -- Belt and braces: even a mistaken grant cannot turn snapshots into writes.
      ALTER ROLE "orders_reader" SET default_transaction_read_only = on;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END;
$$;
--> statement-breakpoint

-- Database-level grants must name the database, which differs per environment and test.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO "orders_debezium"', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO "orders_reader"', current_database());
END;
$$;
--> statement-breakpoint

GRANT USAGE ON SCHEMA "public" TO "orders_debezium", "orders_reader";
--> statement-breakpoint
GRANT SELECT ON TABLE "orders" TO "orders_debezium", "orders_reader";

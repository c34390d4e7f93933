-- The Iceberg SQL catalog's roles, least privilege (issue 18; deploy/k8s/README.md "Credentials"):
--   writer_role  the iceberg-writer and its maintenance job: reads and changes the catalog rows (commits, new tables)
--   query_role   query-api: reads them, nothing else
-- Neither may create, alter or drop anything: this script creates the catalog's two tables itself, as the role that
-- runs it, with the DDL the writer would otherwise run on its first start (libs/iceberg/src/catalog/sql-catalog.ts,
-- CREATE_TABLES_SQL and CREATE_NAMESPACE_PROPERTIES_SQL; deploy/src/postgres.spec.ts keeps the two identical). The
-- writer probes for the tables before creating them, so it finds them and runs no DDL.
--
-- Run it in the catalog database as its owner (or an admin with CREATEROLE), once per environment and again after a
-- password change; it is idempotent:
--   psql "postgresql://admin@host:5432/k2_catalog?sslmode=verify-full" -v ON_ERROR_STOP=1 \
--     -v writer_role=k2_writer -v writer_password="$WRITER_PW" -v query_role=k2_query -v query_password="$QUERY_PW" \
--     -f deploy/postgres/catalog-roles.sql
-- docker-compose.yml's postgres-init service runs it against the compose PostgreSQL.
\set ON_ERROR_STOP on

-- The two login roles, created when missing; the password is (re)set on every run.
SELECT format('CREATE ROLE %I', :'writer_role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'writer_role') \gexec
SELECT format('CREATE ROLE %I', :'query_role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'query_role') \gexec
ALTER ROLE :"writer_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'writer_password';
ALTER ROLE :"query_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'query_password';

-- The catalog tables (no-ops when a writer, Java's JdbcCatalog or PyIceberg created them already).
CREATE TABLE IF NOT EXISTS iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),iceberg_type VARCHAR(5),PRIMARY KEY (catalog_name, table_namespace, table_name));
CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key));

-- Connect to this database, see its public schema, and nothing more: no CREATE there (PostgreSQL 14 and older grant
-- CREATE on public to everyone; 15 no longer does).
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I', current_database(), :'writer_role', :'query_role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM :"writer_role", :"query_role";
GRANT USAGE ON SCHEMA public TO :"writer_role", :"query_role";

-- Rows: the writer reads and changes them (INSERT creates tables and namespaces, UPDATE commits, DELETE drops a
-- table), query-api only reads them.
REVOKE ALL ON iceberg_tables, iceberg_namespace_properties FROM :"writer_role", :"query_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON iceberg_tables, iceberg_namespace_properties TO :"writer_role";
GRANT SELECT ON iceberg_tables, iceberg_namespace_properties TO :"query_role";

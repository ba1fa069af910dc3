-- Civic Forms on PostgreSQL: two roles (docs/security.md, "Database roles").
--
--   civicforms_owner  owns the schema and its tables; only `civicforms migrate` connects as it.
--   civicforms_app    what the web faces, the worker and the other commands connect as: it reads
--                     and writes rows, and nothing more. It cannot change the audit log
--                     (case_event, record_event, access_log: SELECT and INSERT only), empty a table, or change, drop or
--                     disable a table or a trigger (none of that is granted to a role that does
--                     not own the table).
--
-- Once, as a superuser (or a role with CREATEROLE), with passwords of your own:
--   CREATE ROLE civicforms_owner LOGIN PASSWORD '...';
--   CREATE ROLE civicforms_app LOGIN PASSWORD '...';
--   CREATE SCHEMA civicforms AUTHORIZATION civicforms_owner;
--   ALTER ROLE civicforms_owner SET search_path = civicforms;
--   ALTER ROLE civicforms_app SET search_path = civicforms;
--
-- Then after every `civicforms migrate` (new tables need their grants; running it again is
-- harmless), as civicforms_owner:
--   psql "$OWNER_DATABASE_URL" -v app_role=civicforms_app -v schema=civicforms -f deploy/postgres-roles.sql
--
-- tests/runtime/test_database_roles.py runs this file as it is, with a role of its own.

\set ON_ERROR_STOP on

-- Nothing by default: the app role gets exactly what is granted below.
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM :"app_role";
GRANT USAGE ON SCHEMA :"schema" TO :"app_role";

-- The tables the application writes: read, add, change and remove rows (no TRUNCATE).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"app_role";

-- The audit logs (cases', citizen records', and who looked at what): read and add, nothing else
-- (their triggers refuse UPDATE, DELETE and TRUNCATE even to their owner; the app role could not
-- run them anyway).
REVOKE UPDATE, DELETE ON :"schema".case_event FROM :"app_role";
REVOKE UPDATE, DELETE ON :"schema".record_event FROM :"app_role";
REVOKE UPDATE, DELETE ON :"schema".access_log FROM :"app_role";

-- Which migration the database is at: read only (the app checks it; only migrate writes it).
REVOKE INSERT, UPDATE, DELETE ON :"schema".alembic_version FROM :"app_role";

-- The id sequences, for INSERT (nextval).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA :"schema" TO :"app_role";

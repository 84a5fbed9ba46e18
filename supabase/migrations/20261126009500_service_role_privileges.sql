-- The Data API (PostgREST) runs every call as `service_role`, which is neither a superuser nor the
-- owner of our objects (https://supabase.com/docs/guides/database/postgres/roles). The backend's
-- functions are SECURITY INVOKER, so service_role needs the privileges on everything they touch in
-- `private`. Earlier migrations granted them table by table and missed what came later:
--   * EXECUTE on the private helpers was revoked from PUBLIC and granted to no one — the webhook
--     ingest failed with 42501 (permission denied for function lock_message);
--   * private.media_uploads, deleted_message_content and pending_message_changes had no grant.
-- Granted here for everything in the schema, and by default for what later migrations add. anon and
-- authenticated still get nothing: they have no USAGE on the schema.
grant execute on all functions in schema private to service_role;
grant select, insert, update, delete on all tables in schema private to service_role;
grant usage, select on all sequences in schema private to service_role;
alter default privileges in schema private grant execute on functions to service_role;
alter default privileges in schema private grant select, insert, update, delete on tables to service_role;
alter default privileges in schema private grant usage, select on sequences to service_role;

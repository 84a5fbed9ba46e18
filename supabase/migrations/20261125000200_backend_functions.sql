-- Functions the backend calls. Convention for every backend function in this project:
--   * one statement of work per call (one round trip, one transaction), idempotent by unique keys;
--   * `set search_path = ''` and fully qualified names;
--   * executable by service_role only (Supabase grants EXECUTE to anon/authenticated by default).

create or replace function public.app_health()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('ok', true, 'now', now())
$$;

revoke execute on function public.app_health() from public, anon, authenticated;
grant execute on function public.app_health() to service_role;

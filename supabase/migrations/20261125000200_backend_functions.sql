-- Functions the backend calls. Convention for every backend function in this project:
--   * one statement of work per call (one round trip, one transaction), idempotent by unique keys;
--   * `set search_path = ''` and fully qualified names;
--   * executable by service_role only (Supabase grants EXECUTE to anon/authenticated by default).

-- Marks backend functions executable by service_role only (Supabase grants EXECUTE on new public
-- functions to anon and authenticated by default).
create or replace function private.backend_only(variadic p_functions regprocedure[])
returns void language plpgsql set search_path = ''
as $$
declare
  f regprocedure;
begin
  foreach f in array p_functions loop
    execute format('revoke execute on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end $$;
revoke all on function private.backend_only(regprocedure[]) from public;

create or replace function public.app_health()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('ok', true, 'now', now())
$$;

select private.backend_only('public.app_health()');

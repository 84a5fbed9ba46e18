-- Instance health for the Evolution health check: our numbers by status, and each live number's
-- instance so the check can compare our status with the provider's.
create or replace function public.provider_health(p_provider text)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'counts', coalesce((select jsonb_object_agg(status, n) from (
                 select status, count(*) as n from public.numbers
                  where provider = p_provider and deleted_at is null group by status) c), '{}'::jsonb),
    'numbers', coalesce((select jsonb_agg(jsonb_build_object('id', id, 'instance', provider_instance_id,
                                                             'status', status) order by created_at)
                           from (select id, provider_instance_id, status, created_at from public.numbers
                                  where provider = p_provider and deleted_at is null
                                    and provider_instance_id is not null
                                  order by created_at limit 2000) n), '[]'::jsonb))
$$;

select private.backend_only(
  'public.provider_health(text)');

-- The providers a user may add (GET /api/v1/providers): GREEN-API always; Evolution per EVOLUTION_ROLLOUT,
-- the same rule begin_create_number applies (20261125000400_product_api.sql).
create or replace function public.providers_enabled(p_owner uuid, p_rollout text)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'green-api', true,
    'evolution', p_rollout = 'all'
                 or (p_rollout = 'beta' and exists (select 1 from private.provider_rollout
                                                     where user_id = p_owner and provider = 'evolution')))
$$;

select private.backend_only('public.providers_enabled(uuid, text)');

-- Upkeep for the sync job: numbers whose creation never finished, and which provider instances
-- still belong to a live number.

create or replace function public.stale_pending_numbers(p_provider text, p_older_than_seconds integer)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', n.id, 'provider', n.provider,
                                               'provider_instance_id', n.provider_instance_id,
                                               'instance_data', n.instance_data, 'managed_instance', n.managed_instance,
                                               'api_token', s.api_token)), '[]'::jsonb)
    from public.numbers n left join private.number_secrets s on s.number_id = n.id
   where n.provider = p_provider and n.deleted_at is null and n.status = 'pending' and s.number_id is null
     and n.created_at < now() - make_interval(secs => p_older_than_seconds)
$$;

-- Arrays travel as jsonb: the same argument works over PostgREST and psycopg.
create or replace function public.live_instance_ids(p_provider text, p_instance_ids jsonb)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(provider_instance_id), '[]'::jsonb)
    from public.numbers
   where provider = p_provider and deleted_at is null and provider_instance_id in (select jsonb_array_elements_text(p_instance_ids))
$$;

select private.backend_only(
  'public.stale_pending_numbers(text, integer)',
  'public.live_instance_ids(text, jsonb)');

-- Every live number of a provider with what it takes to reach its instance (for re-pointing
-- webhooks after a secret rotation or the move of legacy GREEN-API numbers).
create or replace function public.live_numbers_with_secrets(p_provider text)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', n.id, 'provider', n.provider,
                                               'provider_instance_id', n.provider_instance_id,
                                               'instance_data', n.instance_data, 'managed_instance', n.managed_instance,
                                               'api_token', s.api_token) order by n.created_at), '[]'::jsonb)
    from public.numbers n join private.number_secrets s on s.number_id = n.id
   where n.provider = p_provider and n.deleted_at is null and n.provider_instance_id is not null
$$;

select private.backend_only(
  'public.live_numbers_with_secrets(text)');

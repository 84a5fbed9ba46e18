-- Functions behind the product API. Every one takes the caller's user id explicitly (service-key
-- calls carry no auth.uid()) and treats another owner's row exactly like a missing one (404).

alter table public.numbers add column idempotency_key text;
create unique index numbers_owner_idempotency_key on public.numbers (owner_id, idempotency_key)
  where idempotency_key is not null;

-- The public view of a number: never a secret.
create or replace function public.number_json(n public.numbers)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', n.id, 'label', n.label, 'phone', n.phone, 'provider', n.provider,
    'status', n.status, 'status_reason', n.status_reason, 'status_changed_at', n.status_changed_at,
    'provider_state', n.provider_state, 'provider_reason_code', n.provider_reason_code,
    'connected_at', n.connected_at, 'disconnected_at', n.disconnected_at,
    'created_at', n.created_at, 'deleted_at', n.deleted_at,
    'qr', case when n.qr_code is not null or n.pairing_code is not null
               then jsonb_build_object('data_url', n.qr_code, 'pairing_code', n.pairing_code,
                                       'expires_at', n.qr_expires_at) end)
$$;

create or replace function public.list_numbers(p_owner uuid, p_limit integer default 50, p_after timestamptz default null,
                                               p_after_id uuid default null)
returns jsonb language sql stable set search_path = ''
as $$
  with page as (
    select n from public.numbers n
     where n.owner_id = p_owner and n.deleted_at is null
       and (p_after is null or (n.created_at, n.id) > (p_after, p_after_id))
     order by n.created_at, n.id
     limit greatest(1, least(coalesce(p_limit, 50), 100)) + 1
  ), numbered as (
    select n, row_number() over (order by (n).created_at, (n).id) as rn from page
  )
  select jsonb_build_object(
    'items', coalesce(jsonb_agg(public.number_json(n) order by rn) filter (where rn <= greatest(1, least(coalesce(p_limit, 50), 100))), '[]'::jsonb),
    'has_more', count(*) > greatest(1, least(coalesce(p_limit, 50), 100)))
  from numbered
$$;

create or replace function public.get_number(p_owner uuid, p_number_id uuid)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner and deleted_at is null;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  return public.number_json(v);
end $$;

-- The number with what a provider needs to reach its instance (secrets included: backend only).
create or replace function public.number_for_provider(p_owner uuid, p_number_id uuid)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  s private.number_secrets%rowtype;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner and deleted_at is null;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  select * into s from private.number_secrets where number_id = v.id;
  return public.number_json(v) || jsonb_build_object(
    'provider_instance_id', v.provider_instance_id, 'instance_data', v.instance_data,
    'managed_instance', v.managed_instance, 'qr_expires_at', v.qr_expires_at,
    'api_token', s.api_token, 'webhook_token', s.webhook_token);
end $$;

-- Step 1 of adding a number: the row exists before any provider call, so a provider instance can
-- always be traced back (its name derives from this id). A retried request with the same
-- idempotency key gets the same row.
create or replace function public.begin_create_number(
  p_number_id uuid, p_owner uuid, p_provider text, p_label text, p_phone text, p_rollout text, p_idempotency_key text default null,
  p_planned_instance_id text default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  if p_provider = 'evolution' and not (
       p_rollout = 'all'
       or (p_rollout = 'beta' and exists (select 1 from private.provider_rollout
                                           where user_id = p_owner and provider = 'evolution'))) then
    raise exception 'Evolution numbers are not enabled for this account' using errcode = 'WA403', hint = 'provider_not_enabled';
  end if;
  insert into public.numbers (id, owner_id, label, phone, provider, status, status_changed_at, idempotency_key,
                              provider_instance_id)
  values (p_number_id, p_owner, coalesce(p_label, ''), p_phone, p_provider, 'pending', now(), p_idempotency_key,
          p_planned_instance_id)
  on conflict (owner_id, idempotency_key) where idempotency_key is not null do nothing
  returning * into v;
  if v.id is not null then
    return public.number_json(v) || jsonb_build_object('replayed', false);
  end if;
  select * into v from public.numbers where owner_id = p_owner and idempotency_key = p_idempotency_key;
  if v.provider is distinct from p_provider then
    raise exception 'this Idempotency-Key was used for another request' using errcode = 'WA409',
      hint = 'idempotency_key_reused';
  end if;
  return public.number_json(v) || jsonb_build_object('replayed', true,
    'provider_instance_id', v.provider_instance_id);
end $$;

-- Step 2: the provider instance exists; store its routing id, data and secrets.
create or replace function public.complete_create_number(
  p_number_id uuid, p_provider_instance_id text, p_instance_data jsonb, p_managed boolean,
  p_api_token text, p_webhook_token text, p_status text, p_raw_state text, p_reason text,
  p_qr_code text default null, p_pairing_code text default null, p_qr_expires_at timestamptz default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  update public.numbers
     set provider_instance_id = p_provider_instance_id,
         id_instance = case when provider = 'green-api' then p_provider_instance_id else id_instance end,
         api_url = case when provider = 'green-api' then coalesce(p_instance_data ->> 'apiUrl', api_url) else api_url end,
         instance_data = instance_data || coalesce(p_instance_data, '{}'::jsonb),
         managed_instance = p_managed,
         qr_code = p_qr_code, pairing_code = p_pairing_code, qr_expires_at = p_qr_expires_at,
         updated_at = now()
   where id = p_number_id and deleted_at is null
  returning * into v;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  insert into private.number_secrets (number_id, api_token, webhook_token)
  values (p_number_id, p_api_token, p_webhook_token)
  on conflict (number_id) do update set api_token = excluded.api_token, webhook_token = excluded.webhook_token,
                                        updated_at = now();
  perform public.record_connection(p_number_id, p_status, p_raw_state, null, p_reason, now(), 'api', null);
  select * into v from public.numbers where id = p_number_id;
  return public.number_json(v);
end $$;

-- A number whose provider instance could not be created: soft-deleted with the reason, so
-- nothing half-made stays visible (the sync job deletes any instance that did get created).
create or replace function public.abandon_number(p_number_id uuid, p_reason text)
returns void language sql set search_path = ''
as $$
  update public.numbers
     set deleted_at = now(), status = 'deleted', status_reason = p_reason, status_changed_at = now(),
         idempotency_key = null, updated_at = now()
   where id = p_number_id and deleted_at is null
$$;

create or replace function public.save_qr(p_number_id uuid, p_qr_code text, p_pairing_code text, p_expires_at timestamptz)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  update public.numbers
     set qr_code = p_qr_code, pairing_code = p_pairing_code, qr_expires_at = p_expires_at, updated_at = now()
   where id = p_number_id and deleted_at is null
  returning * into v;
  if v.status in ('pending', 'connecting', 'disconnected', 'logged_out') then
    perform public.record_connection(p_number_id, 'qr', 'qrcode', null, 'waiting for the QR code to be scanned',
                                     now(), 'api', null);
    select * into v from public.numbers where id = p_number_id;
  end if;
  return public.number_json(v);
end $$;

create or replace function public.delete_number(p_owner uuid, p_number_id uuid)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  if v.deleted_at is null then
    insert into public.number_status_events (number_id, owner_id, from_status, to_status, changed, reason, source, occurred_at)
    values (v.id, v.owner_id, v.status, 'deleted', true, 'deleted by its owner', 'api', now());
    update public.numbers
       set deleted_at = now(), status = 'deleted', status_reason = 'deleted by its owner', status_changed_at = now(),
           qr_code = null, pairing_code = null, qr_expires_at = null, updated_at = now()
     where id = v.id
    returning * into v;
    delete from private.number_secrets where number_id = v.id;
  end if;
  return public.number_json(v);
end $$;

select private.backend_only(
  'public.number_json(public.numbers)',
  'public.list_numbers(uuid, integer, timestamptz, uuid)',
  'public.get_number(uuid, uuid)',
  'public.number_for_provider(uuid, uuid)',
  'public.begin_create_number(uuid, uuid, text, text, text, text, text, text)',
  'public.complete_create_number(uuid, text, jsonb, boolean, text, text, text, text, text, text, text, timestamptz)',
  'public.abandon_number(uuid, text)',
  'public.save_qr(uuid, text, text, timestamptz)',
  'public.delete_number(uuid, uuid)');

-- Webhook ingestion: one call, one transaction, idempotent by unique keys.
--
-- ingest_webhook(provider, instance, number_id, apikey, events, event_type, payload) resolves the
-- number, applies the defence-in-depth checks that need stored data, then applies every
-- normalized event:
--   message    → chat upserted (preview/last time only move forward), message inserted once
--   status     → message status only moves forward: pending < sent < failed < delivered < read
--                (a status for a message we have not stored yet waits in private.pending_statuses)
--   connection → numbers.status with reason and time; history row with `changed` for alerts
--   qr         → the latest QR and its expiry, for the polling endpoint
-- An authenticated payload for no number of ours becomes a dead letter, in the same call.

create table private.pending_statuses (
  number_id uuid not null references public.numbers (id) on delete cascade,
  provider_message_id text not null,
  status text not null,
  reason text,
  occurred_at timestamptz not null,
  primary key (number_id, provider_message_id)
);
grant select, insert, update, delete on private.pending_statuses to service_role;

create or replace function public.message_status_rank(p_status text)
returns integer language sql immutable set search_path = ''
as $$
  select case p_status when 'pending' then 0 when 'sent' then 1 when 'failed' then 2
                       when 'delivered' then 3 when 'read' then 4 else -1 end
$$;

-- Apply a delivery status to a stored message, forward only. Returns true when the message exists.
create or replace function public.apply_message_status(
  p_number_id uuid, p_provider_message_id text, p_status text, p_reason text, p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
declare
  v_found boolean;
begin
  update public.messages m
     set status = p_status,
         status_reason = case when p_status = 'failed' then p_reason else m.status_reason end,
         status_updated_at = p_at,
         updated_at = now()
   where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id
     and m.direction = 'outbound'
     and public.message_status_rank(p_status) > public.message_status_rank(m.status);
  if found then
    return true;
  end if;
  select exists (select 1 from public.messages m
                  where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id)
    into v_found;
  if not v_found then
    insert into private.pending_statuses as ps (number_id, provider_message_id, status, reason, occurred_at)
    values (p_number_id, p_provider_message_id, p_status, p_reason, p_at)
    on conflict (number_id, provider_message_id) do update
      set status = excluded.status, reason = excluded.reason, occurred_at = excluded.occurred_at
      where public.message_status_rank(excluded.status) > public.message_status_rank(ps.status);
  end if;
  return v_found;
end $$;

-- Find or create the chat for a canonical chat id (and LID, when known). See README "Chat identity".
create or replace function public.resolve_chat(
  p_number_id uuid, p_owner_id uuid, p_chat_id text, p_lid text, p_name text, p_is_group boolean)
returns uuid language plpgsql set search_path = ''
as $$
declare
  v_chat uuid;
  v_lid_chat uuid;
begin
  if p_chat_id like '%@lid' then
    select id into v_chat from public.chats where number_id = p_number_id and lid = p_chat_id;
    if v_chat is not null then
      return v_chat;
    end if;
    p_lid := p_chat_id;
  end if;

  insert into public.chats as c (number_id, owner_id, wa_chat_id, name, is_group)
  values (p_number_id, p_owner_id, p_chat_id, p_name, coalesce(p_is_group, false))
  on conflict (number_id, wa_chat_id) do update
    set name = coalesce(c.name, excluded.name), updated_at = now()
  returning id into v_chat;

  if p_lid is not null then
    -- A chat first seen by its LID alone is the same person: fold it into the phone chat.
    select id into v_lid_chat from public.chats
     where number_id = p_number_id and lid = p_lid and id <> v_chat;
    if v_lid_chat is not null then
      update public.messages set chat_id = v_chat where chat_id = v_lid_chat;
      delete from public.chats where id = v_lid_chat;
    end if;
    update public.chats set lid = p_lid where id = v_chat and lid is distinct from p_lid;
  end if;
  return v_chat;
end $$;

create or replace function public.ingest_webhook(
  p_provider text,
  p_instance text,
  p_number_id uuid,
  p_apikey text,
  p_events jsonb,
  p_event_type text default null,
  p_payload jsonb default null,
  p_dead_letter boolean default true)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_number public.numbers%rowtype;
  v_token text;
  v_event jsonb;
  v_kind text;
  v_at timestamptz;
  v_chat uuid;
  v_status text;
  v_inserted int := 0;
  v_duplicates int := 0;
  v_statuses int := 0;
  v_ignored int := 0;
  v_transitions jsonb := '[]'::jsonb;
  v_pending private.pending_statuses%rowtype;
  v_rows int;
begin
  if p_number_id is not null then
    select * into v_number from public.numbers
     where id = p_number_id and provider = p_provider and deleted_at is null;
  else
    select * into v_number from public.numbers
     where provider = p_provider and provider_instance_id = p_instance and deleted_at is null;
  end if;

  if v_number.id is null then
    if p_dead_letter then  -- false when a dead letter is being replayed: it already has its row
      insert into private.dead_letters (provider, reason, event_type, provider_instance_id, number_id, payload)
      values (p_provider, 'unknown_number', p_event_type, p_instance, p_number_id, coalesce(p_payload, p_events));
    end if;
    return jsonb_build_object('result', 'dead_lettered', 'reason', 'unknown_number');
  end if;

  -- Defence in depth: the body must name the instance the credentials belong to, and Evolution's
  -- body `apikey` (the instance token, when exposed) must be that instance's token.
  if p_instance is not null and v_number.provider_instance_id is distinct from p_instance then
    return jsonb_build_object('result', 'unauthorized', 'reason', 'instance_mismatch');
  end if;
  if p_apikey is not null then
    select api_token into v_token from private.number_secrets where number_id = v_number.id;
    if v_token is null or sha256(convert_to(v_token, 'UTF8')) <> sha256(convert_to(p_apikey, 'UTF8')) then
      return jsonb_build_object('result', 'unauthorized', 'reason', 'apikey_mismatch');
    end if;
  end if;

  for v_event in select value from jsonb_array_elements(coalesce(p_events, '[]'::jsonb)) loop
    v_kind := v_event ->> 'kind';
    v_at := coalesce((v_event ->> 'timestamp')::timestamptz, now());

    if v_kind = 'message' then
      v_chat := public.resolve_chat(v_number.id, v_number.owner_id, v_event ->> 'chat_id', v_event ->> 'chat_lid',
                                    case when v_event ->> 'direction' = 'inbound' and not coalesce((v_event ->> 'is_group')::boolean, false)
                                         then v_event ->> 'chat_name' end,
                                    (v_event ->> 'is_group')::boolean);
      v_status := case when v_event ->> 'direction' = 'inbound' then 'received'
                       when v_event ->> 'from_me_source' = 'api' then 'pending'
                       else 'sent' end;
      insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, type, body,
                                   status, sent_at, from_me_source, author, author_name, quoted_provider_message_id,
                                   media_url, media_mime_type, media_file_name, extra, created_at)
      values (v_chat, v_number.owner_id, v_number.id, v_event ->> 'provider_message_id', v_event ->> 'direction',
              v_event ->> 'type', v_event ->> 'text', v_status, v_at, v_event ->> 'from_me_source',
              v_event ->> 'author', v_event ->> 'author_name', v_event ->> 'quoted_id',
              v_event #>> '{media,url}', v_event #>> '{media,mime_type}', v_event #>> '{media,file_name}',
              coalesce(v_event -> 'extra', '{}'::jsonb), now())
      on conflict (number_id, provider_message_id) do nothing;
      get diagnostics v_rows = row_count;
      if v_rows = 0 then
        v_duplicates := v_duplicates + 1;
        continue;
      end if;
      v_inserted := v_inserted + 1;
      update public.chats
         set last_message_at = v_at,
             last_message_preview = left(coalesce(v_event ->> 'text', '[' || (v_event ->> 'type') || ']'), 200),
             updated_at = now()
       where id = v_chat and (last_message_at is null or last_message_at <= v_at);
      -- A status that arrived before its message is applied now.
      delete from private.pending_statuses
       where number_id = v_number.id and provider_message_id = v_event ->> 'provider_message_id'
      returning * into v_pending;
      if v_pending.status is not null then
        perform public.apply_message_status(v_number.id, v_pending.provider_message_id, v_pending.status,
                                            v_pending.reason, v_pending.occurred_at);
      end if;

    elsif v_kind = 'status' then
      perform public.apply_message_status(v_number.id, v_event ->> 'provider_message_id', v_event ->> 'status',
                                          v_event ->> 'reason', v_at);
      v_statuses := v_statuses + 1;

    elsif v_kind = 'connection' then
      v_transitions := v_transitions || public.record_connection(
        v_number.id, v_event ->> 'status', v_event ->> 'raw_state', (v_event ->> 'reason_code')::int,
        v_event ->> 'reason', v_at, 'webhook', v_event ->> 'phone');
      select * into v_number from public.numbers where id = v_number.id;

    elsif v_kind = 'qr' then
      update public.numbers
         set qr_code = v_event ->> 'data_url',
             pairing_code = v_event ->> 'pairing_code',
             qr_expires_at = (v_event ->> 'expires_at')::timestamptz,
             updated_at = now()
       where id = v_number.id and status <> 'active'
         and (qr_expires_at is null or qr_expires_at <= (v_event ->> 'expires_at')::timestamptz);
      if v_number.status in ('pending', 'connecting', 'disconnected', 'logged_out') then
        v_transitions := v_transitions || public.record_connection(
          v_number.id, 'qr', 'qrcode', null, 'waiting for the QR code to be scanned', v_at, 'webhook', null);
      end if;
    else
      v_ignored := v_ignored + 1;
    end if;
  end loop;

  return jsonb_build_object('result', 'ok', 'number_id', v_number.id, 'inserted', v_inserted,
                            'duplicates', v_duplicates, 'statuses', v_statuses, 'ignored', v_ignored,
                            'transitions', v_transitions);
end $$;

-- Record a connection state report: the number's status moves (unless the report is older than
-- the last change), and a history row says whether anything changed.
create or replace function public.record_connection(
  p_number_id uuid, p_status text, p_raw_state text, p_reason_code integer, p_reason text,
  p_at timestamptz, p_source text, p_phone text default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_old public.numbers%rowtype;
  v_changed boolean;
  v_apply boolean;
begin
  select * into v_old from public.numbers where id = p_number_id for update;
  -- While a QR is being shown, the provider reports "connecting": that is not news.
  v_apply := (v_old.status_changed_at is null or p_at >= v_old.status_changed_at)
             and not (p_status = 'connecting' and v_old.status = 'qr');
  v_changed := v_apply and v_old.status is distinct from p_status;
  if v_apply then
    update public.numbers
       set status = p_status,
           status_reason = p_reason,
           provider_state = p_raw_state,
           provider_reason_code = p_reason_code,
           status_changed_at = case when v_changed then p_at else status_changed_at end,
           connected_at = case when p_status = 'active' and v_changed then p_at else connected_at end,
           disconnected_at = case when v_old.status = 'active' and v_changed then p_at else disconnected_at end,
           phone = coalesce(p_phone, phone),
           qr_code = case when p_status = 'active' then null else qr_code end,
           pairing_code = case when p_status = 'active' then null else pairing_code end,
           qr_expires_at = case when p_status = 'active' then null else qr_expires_at end,
           updated_at = now()
     where id = p_number_id;
  end if;
  insert into public.number_status_events (number_id, owner_id, from_status, to_status, changed, reason,
                                           provider_state, reason_code, source, occurred_at)
  values (p_number_id, v_old.owner_id, v_old.status, p_status, v_changed, p_reason, p_raw_state, p_reason_code,
          p_source, p_at);
  return jsonb_build_array(jsonb_build_object('from', v_old.status, 'to', p_status, 'changed', v_changed,
                                              'reason', p_reason));
end $$;

create or replace function public.dead_letter(
  p_provider text, p_reason text, p_payload jsonb, p_event_type text default null,
  p_instance text default null, p_number_id uuid default null, p_error text default null)
returns jsonb language sql set search_path = ''
as $$
  insert into private.dead_letters (provider, reason, event_type, provider_instance_id, number_id, payload, last_error)
  values (p_provider, p_reason, p_event_type, p_instance, p_number_id, p_payload, p_error)
  returning jsonb_build_object('result', 'dead_lettered', 'id', id, 'reason', reason)
$$;


-- Dead letters for the replay command: the oldest not yet replayed, and the outcome of a replay.
create or replace function public.dead_letters_due(p_limit integer default 100, p_reason text default null)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'provider', provider, 'reason', reason,
                                               'event_type', event_type, 'instance', provider_instance_id,
                                               'number_id', number_id, 'payload', payload, 'attempts', attempts)
                            order by id), '[]'::jsonb)
    from (select * from private.dead_letters
           where replayed_at is null and (p_reason is null or reason = p_reason)
           order by id limit greatest(1, least(p_limit, 1000))) d
$$;

create or replace function public.finish_dead_letter(p_id bigint, p_replayed boolean, p_error text default null)
returns void language sql set search_path = ''
as $$
  update private.dead_letters
     set attempts = attempts + 1,
         replayed_at = case when p_replayed then now() end,
         last_error = p_error
   where id = p_id
$$;

select private.backend_only(
  'public.message_status_rank(text)',
  'public.apply_message_status(uuid, text, text, text, timestamptz)',
  'public.resolve_chat(uuid, uuid, text, text, text, boolean)',
  'public.ingest_webhook(text, text, uuid, text, jsonb, text, jsonb, boolean)',
  'public.record_connection(uuid, text, text, integer, text, timestamptz, text, text)',
  'public.dead_letter(text, text, jsonb, text, text, uuid, text)',
  'public.dead_letters_due(integer, text)',
  'public.finish_dead_letter(bigint, boolean, text)');

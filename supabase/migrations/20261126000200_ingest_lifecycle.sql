-- Ingestion, revised for the lifecycle: the state machine decides connection changes; events of a
-- deleted number are dropped (not dead-lettered); a send whose outcome was unknown is matched by
-- its webhook; and two races are closed with transaction-scoped advisory locks:
--   * a status and its message: both paths lock (number, provider message id), so a status that
--     arrives while its message is being inserted or completed is applied, never stranded in
--     private.pending_statuses;
--   * folding a LID-only chat into the phone chat: both paths lock (number, LID), so a message
--     committed concurrently into the LID chat is moved, never removed with it.

create or replace function private.lock_message(p_number_id uuid, p_provider_message_id text)
returns void language sql set search_path = ''
as $$ select pg_advisory_xact_lock(hashtextextended(p_number_id::text || '/m/' || p_provider_message_id, 0)) $$;

create or replace function private.lock_lid(p_number_id uuid, p_lid text)
returns void language sql set search_path = ''
as $$ select pg_advisory_xact_lock(hashtextextended(p_number_id::text || '/lid/' || p_lid, 0)) $$;

-- Apply a delivery status to a stored message, forward only; park it when the message is not
-- stored yet. The caller holds private.lock_message for this id.
create or replace function public.apply_message_status(
  p_number_id uuid, p_provider_message_id text, p_status text, p_reason text, p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
begin
  update public.messages m
     set status = p_status,
         status_reason = case when p_status = 'failed' then p_reason else m.status_reason end,
         status_updated_at = p_at,
         updated_at = now()
   where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id
     and m.direction = 'outbound'
     and public.message_status_rank(p_status) > public.message_status_rank(m.status);
  if found or exists (select 1 from public.messages m
                       where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id) then
    return true;
  end if;
  insert into private.pending_statuses as ps (number_id, provider_message_id, status, reason, occurred_at)
  values (p_number_id, p_provider_message_id, p_status, p_reason, p_at)
  on conflict (number_id, provider_message_id) do update
    set status = excluded.status, reason = excluded.reason, occurred_at = excluded.occurred_at
    where public.message_status_rank(excluded.status) > public.message_status_rank(ps.status);
  return false;
end $$;

-- A status that arrived before its message is applied once the message carries the id.
create or replace function private.drain_pending_status(p_number_id uuid, p_provider_message_id text)
returns void language plpgsql set search_path = ''
as $$
declare
  v private.pending_statuses%rowtype;
begin
  delete from private.pending_statuses
   where number_id = p_number_id and provider_message_id = p_provider_message_id
  returning * into v;
  if v.status is not null then
    perform public.apply_message_status(p_number_id, p_provider_message_id, v.status, v.reason, v.occurred_at);
  end if;
end $$;

-- The chat's preview and last time: only ever moved forward in time.
create or replace function private.touch_chat(p_chat_id uuid, p_at timestamptz, p_preview text)
returns void language sql set search_path = ''
as $$
  update public.chats
     set last_message_at = p_at, last_message_preview = left(p_preview, 200), updated_at = now()
   where id = p_chat_id and (last_message_at is null or last_message_at <= p_at)
$$;

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
    p_lid := p_chat_id;
  end if;
  if p_lid is not null then
    perform private.lock_lid(p_number_id, p_lid);
  end if;
  if p_chat_id like '%@lid' then
    select id into v_chat from public.chats where number_id = p_number_id and lid = p_chat_id;
    if v_chat is not null then
      return v_chat;
    end if;
  end if;

  insert into public.chats as c (number_id, owner_id, wa_chat_id, name, is_group)
  values (p_number_id, p_owner_id, p_chat_id, p_name, coalesce(p_is_group, false))
  on conflict (number_id, wa_chat_id) do update
    set name = coalesce(c.name, excluded.name), updated_at = now()
  returning id into v_chat;

  if p_lid is not null and p_chat_id not like '%@lid' then
    -- A chat first seen by its LID alone is the same person: fold it into the phone chat. The LID
    -- lock is held, so no message can be committed into it while it is being folded.
    select id into v_lid_chat from public.chats
     where number_id = p_number_id and lid = p_lid and id <> v_chat for update;
    if v_lid_chat is not null then
      update public.messages set chat_id = v_chat where chat_id = v_lid_chat;
      delete from public.chats where id = v_lid_chat;
    end if;
  end if;
  if p_lid is not null then
    update public.chats set lid = p_lid where id = v_chat and lid is distinct from p_lid;
  end if;
  return v_chat;
end $$;

-- An outbound message the provider reports as sent through the API, which our own send could not
-- confirm (outcome unknown): the webhook completes that row instead of adding a second one.
create or replace function private.claim_unconfirmed_send(p_chat_id uuid, p_provider_message_id text,
                                                          p_type text, p_body text, p_at timestamptz)
returns uuid language sql set search_path = ''
as $$
  update public.messages m
     set provider_message_id = p_provider_message_id,
         status = case when public.message_status_rank(m.status) > public.message_status_rank('sent')
                       then m.status else 'sent' end,
         status_reason = null, sent_at = p_at, updated_at = now()
   where m.id = (select u.id from public.messages u
                  where u.chat_id = p_chat_id and u.provider_message_id is null and u.direction = 'outbound'
                    and u.status in ('pending', 'unknown') and u.extra #>> '{error,code}' = 'outcome_unknown'
                    and u.type = p_type and u.body is not distinct from p_body
                    and u.created_at > now() - interval '1 hour'
                  order by u.created_at limit 1 for update skip locked)
  returning m.id
$$;

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
  v_mid text;
  v_status text;
  v_gone uuid;
  v_inserted int := 0;
  v_duplicates int := 0;
  v_statuses int := 0;
  v_ignored int := 0;
  v_transitions jsonb := '[]'::jsonb;
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
    -- Teardown events (logout, remove, close) of a number its owner deleted: expected, not a letter.
    select id into v_gone from public.numbers
     where provider = p_provider and deleted_at is not null
       and ((p_number_id is not null and id = p_number_id)
            or (p_number_id is null and provider_instance_id = p_instance))
     limit 1;
    if v_gone is not null then
      return jsonb_build_object('result', 'dropped', 'reason', 'number_deleted', 'number_id', v_gone);
    end if;
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
      v_mid := v_event ->> 'provider_message_id';
      v_chat := public.resolve_chat(v_number.id, v_number.owner_id, v_event ->> 'chat_id', v_event ->> 'chat_lid',
                                    case when v_event ->> 'direction' = 'inbound' and not coalesce((v_event ->> 'is_group')::boolean, false)
                                         then v_event ->> 'chat_name' end,
                                    (v_event ->> 'is_group')::boolean);
      perform private.lock_message(v_number.id, v_mid);
      v_status := case when v_event ->> 'direction' = 'inbound' then 'received'
                       when v_event ->> 'from_me_source' = 'api' then 'pending'
                       else 'sent' end;
      v_rows := 0;
      if v_event ->> 'from_me_source' = 'api'
         and not exists (select 1 from public.messages where number_id = v_number.id and provider_message_id = v_mid)
         and private.claim_unconfirmed_send(v_chat, v_mid, v_event ->> 'type', v_event ->> 'text', v_at) is not null then
        v_rows := 1;
      end if;
      if v_rows = 0 then
        insert into public.messages (chat_id, owner_id, number_id, provider_message_id, direction, type, body,
                                     status, sent_at, from_me_source, author, author_name, quoted_provider_message_id,
                                     media_url, media_mime_type, media_file_name, extra, created_at)
        values (v_chat, v_number.owner_id, v_number.id, v_mid, v_event ->> 'direction',
                v_event ->> 'type', v_event ->> 'text', v_status, v_at, v_event ->> 'from_me_source',
                v_event ->> 'author', v_event ->> 'author_name', v_event ->> 'quoted_id',
                v_event #>> '{media,url}', v_event #>> '{media,mime_type}', v_event #>> '{media,file_name}',
                coalesce(v_event -> 'extra', '{}'::jsonb), now())
        on conflict (number_id, provider_message_id) do nothing;
        get diagnostics v_rows = row_count;
      end if;
      if v_rows = 0 then
        v_duplicates := v_duplicates + 1;
        continue;
      end if;
      v_inserted := v_inserted + 1;
      perform private.touch_chat(v_chat, v_at, coalesce(v_event ->> 'text', '[' || (v_event ->> 'type') || ']'));
      perform private.drain_pending_status(v_number.id, v_mid);

    elsif v_kind = 'status' then
      perform private.lock_message(v_number.id, v_event ->> 'provider_message_id');
      perform public.apply_message_status(v_number.id, v_event ->> 'provider_message_id', v_event ->> 'status',
                                          v_event ->> 'reason', v_at);
      v_statuses := v_statuses + 1;

    elsif v_kind = 'connection' then
      v_transitions := v_transitions || public.record_connection(
        v_number.id, v_event ->> 'status', v_event ->> 'raw_state', (v_event ->> 'reason_code')::int,
        v_event ->> 'reason', v_at, 'webhook', v_event ->> 'phone', false, coalesce(v_event ->> 'clock', 'receipt'));

    elsif v_kind = 'qr' then
      v_transitions := v_transitions || public.record_connection(
        v_number.id, 'qr', 'qrcode', null, 'waiting for the QR code to be scanned', v_at, 'webhook', null, false,
        'receipt');
      update public.numbers
         set qr_code = v_event ->> 'data_url',
             pairing_code = v_event ->> 'pairing_code',
             qr_expires_at = (v_event ->> 'expires_at')::timestamptz,
             updated_at = now()
       where id = v_number.id and status = 'qr'
         and (qr_expires_at is null or qr_expires_at <= (v_event ->> 'expires_at')::timestamptz);
    else
      v_ignored := v_ignored + 1;
    end if;
  end loop;

  return jsonb_build_object('result', 'ok', 'number_id', v_number.id, 'inserted', v_inserted,
                            'duplicates', v_duplicates, 'statuses', v_statuses, 'ignored', v_ignored,
                            'transitions', v_transitions);
end $$;

-- The provider accepted the message. A webhook may already have stored it under the provider's
-- id (Evolution emits send.message before its HTTP answer): fold that row into ours.
create or replace function public.complete_send(p_message_id uuid, p_provider_message_id text, p_status text,
                                                p_sent_at timestamptz)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
  v_other public.messages%rowtype;
begin
  -- Lock order: the chat, then the message id — the order ingest_webhook takes them in (it upserts
  -- the chat before it locks the message id), so a racing send.message webhook waits instead of
  -- deadlocking.
  perform 1 from public.chats c where c.id = (select m.chat_id from public.messages m where m.id = p_message_id)
     for no key update;
  select * into v_msg from public.messages where id = p_message_id for update;
  perform private.lock_message(v_msg.number_id, p_provider_message_id);
  select * into v_other from public.messages
   where number_id = v_msg.number_id and provider_message_id = p_provider_message_id and id <> p_message_id
   for update;
  if v_other.id is not null then
    delete from public.messages where id = v_other.id;
  end if;
  update public.messages m
     set provider_message_id = p_provider_message_id,
         status = case when public.message_status_rank(coalesce(v_other.status, p_status))
                            > public.message_status_rank(p_status) then v_other.status else p_status end,
         status_reason = coalesce(v_other.status_reason, m.status_reason),
         sent_at = coalesce(p_sent_at, m.sent_at),
         updated_at = now()
   where m.id = p_message_id
  returning * into v_msg;
  perform private.drain_pending_status(v_msg.number_id, p_provider_message_id);
  select * into v_msg from public.messages where id = p_message_id;
  perform private.touch_chat(v_msg.chat_id, v_msg.sent_at, coalesce(v_msg.body, '[' || v_msg.type || ']'));
  return public.message_json(v_msg);
end $$;

select private.backend_only(
  'public.apply_message_status(uuid, text, text, text, timestamptz)',
  'public.resolve_chat(uuid, uuid, text, text, text, boolean)',
  'public.ingest_webhook(text, text, uuid, text, jsonb, text, jsonb, boolean)',
  'public.complete_send(uuid, text, text, timestamptz)');
revoke all on function private.lock_message(uuid, text), private.lock_lid(uuid, text),
  private.drain_pending_status(uuid, text), private.touch_chat(uuid, timestamptz, text),
  private.claim_unconfirmed_send(uuid, text, text, text, timestamptz),
  private.on_number_status_changed(uuid, text, text, text, text, timestamptz) from public;

-- The webhook's one SQL call and the functions it shares with sending, as they stand (one copy;
-- the migrations before this one only add the helpers they use):
--   ingest_webhook — resolve the number (dropping events of a deleted one), check the instance and
--     apikey, then per event: reactions, edits and deletes onto their target (parked until it
--     lands); messages inserted once, an unconfirmed API send completed by its webhook, the chat's
--     preview, time and unread count in one write, parked statuses and changes applied; statuses
--     forward only (a READ of an inbound message reads the chat up to it, as Evolution reports reads
--     on the phone: whatsapp.baileys.service.ts messages.update, 2.3.6); connection and QR events
--     through the state machine (record_connection).
--   resolve_chat — one chat per contact, LIDs folded under a lock; a known chat is returned without
--     a write; the latest non-empty name wins.
--   complete_send — our row takes the provider's id, keeping what landed on the webhook's copy.
--   apply_message_status — a status onto its message (or parked until it lands), also a phone read.
-- Made cheaper than its first versions (bench.ceiling): the unconfirmed-send claim runs for API
-- sends only (`null AND f()` still calls f), and the chat is written once per message.

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
  v_changes int := 0;
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

    if v_kind = 'message' and v_event ->> 'type' = 'reaction' then
      -- A reaction belongs to its target: per reactor, replaced or removed by a later one.
      if coalesce(v_event #>> '{extra,target_id}', '') = '' then
        v_ignored := v_ignored + 1;
        continue;
      end if;
      perform private.change_or_park(v_number.id, v_event #>> '{extra,target_id}', jsonb_build_object(
        'kind', 'reaction', 'target_id', v_event #>> '{extra,target_id}', 'timestamp', v_at,
        'emoji', coalesce(v_event #>> '{extra,emoji}', ''),
        'reactor', case when v_event ->> 'direction' = 'outbound' then 'me'
                        else coalesce(v_event ->> 'author', v_event ->> 'chat_id') end));
      v_changes := v_changes + 1;

    elsif v_kind = 'message' then
      v_mid := v_event ->> 'provider_message_id';
      v_chat := public.resolve_chat(v_number.id, v_number.owner_id, v_event ->> 'chat_id', v_event ->> 'chat_lid',
                                    case when v_event ->> 'direction' = 'inbound' and not coalesce((v_event ->> 'is_group')::boolean, false)
                                         then v_event ->> 'chat_name' end,
                                    (v_event ->> 'is_group')::boolean);
      -- Lock order: the chat, then the message id, as complete_send and change_or_park take them.
      -- Taking the id first deadlocked with our own send completing while its echo was inserted
      -- (tests/db/test_send_races.py).
      perform 1 from public.chats c where c.id = v_chat for no key update;
      perform private.lock_message(v_number.id, v_mid);
      v_status := case when v_event ->> 'direction' = 'inbound' then 'received'
                       when v_event ->> 'from_me_source' = 'api' then 'pending'
                       else 'sent' end;
      v_rows := 0;
      -- Nested, not one AND: `from_me_source` is null for inbound messages, and `null and f()` still
      -- calls f() — the claim's look-up ran for every message (0.25 ms of the 1.1 ms ingest).
      if v_event ->> 'from_me_source' = 'api' then
        if not exists (select 1 from public.messages where number_id = v_number.id and provider_message_id = v_mid)
           and private.claim_unconfirmed_send(v_chat, v_mid, v_event ->> 'type', v_event ->> 'text', v_at) is not null then
          v_rows := 1;
        end if;
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
      if v_event ->> 'direction' = 'outbound' then
        -- A reply (also one our send stored first) answers everything before it: the count is cleared,
        -- unless a message came in after the reply (a late redelivery of an old one).
        update public.chats c set unread_count = 0, read_up_to = greatest(c.read_up_to, v_at)
         where c.id = v_chat and c.unread_count > 0
           and not exists (select 1 from public.messages m
                            where m.chat_id = v_chat and m.direction = 'inbound' and m.sent_at > v_at);
      end if;
      if v_rows = 0 then
        v_duplicates := v_duplicates + 1;
        continue;
      end if;
      v_inserted := v_inserted + 1;
      -- The chat's preview, last time and unread count in one write of its row.
      update public.chats c
         set last_message_at = case when c.last_message_at is null or c.last_message_at <= v_at
                                    then v_at else c.last_message_at end,
             last_message_preview = case when c.last_message_at is null or c.last_message_at <= v_at
                                         then left(coalesce(v_event ->> 'text', '[' || (v_event ->> 'type') || ']'), 200)
                                         else c.last_message_preview end,
             unread_count = c.unread_count + case when v_event ->> 'direction' = 'inbound'
                                                   and (c.read_up_to is null or v_at >= c.read_up_to) then 1 else 0 end,
             updated_at = now()
       where c.id = v_chat
         and (c.last_message_at is null or c.last_message_at <= v_at
              or (v_event ->> 'direction' = 'inbound' and (c.read_up_to is null or v_at >= c.read_up_to)));
      perform private.drain_pending_status(v_number.id, v_mid);
      perform private.drain_pending_changes(v_number.id, v_mid);

    elsif v_kind in ('edit', 'delete') then
      perform private.change_or_park(v_number.id, v_event ->> 'provider_message_id', v_event);
      v_changes := v_changes + 1;

    elsif v_kind = 'status' then
      perform private.lock_chat_of(v_number.id, v_event ->> 'provider_message_id');  -- chat, then message id
      perform private.lock_message(v_number.id, v_event ->> 'provider_message_id');
      perform public.apply_message_status(v_number.id, v_event ->> 'provider_message_id', v_event ->> 'status',
                                          v_event ->> 'reason', v_at);
      v_statuses := v_statuses + 1;

    elsif v_kind = 'connection' then
      v_transitions := v_transitions || public.record_connection(
        v_number.id, v_event ->> 'status', v_event ->> 'raw_state', (v_event ->> 'reason_code')::int,
        v_event ->> 'reason', v_at, 'webhook', v_event ->> 'phone', false, coalesce(v_event ->> 'clock', 'receipt'));

    elsif v_kind = 'qr' then
      v_transitions := v_transitions || private.store_qr(
        v_number.id, v_event ->> 'data_url', v_event ->> 'pairing_code', (v_event ->> 'expires_at')::timestamptz,
        v_at, 'webhook', false);

    else
      v_ignored := v_ignored + 1;
    end if;
  end loop;

  return jsonb_build_object('result', 'ok', 'number_id', v_number.id, 'inserted', v_inserted,
                            'duplicates', v_duplicates, 'statuses', v_statuses, 'changes', v_changes,
                            'ignored', v_ignored, 'transitions', v_transitions);
end $$;


-- Apply a delivery status to a stored message, forward only; park it when the message is not stored
-- yet (drain_pending_status applies it once the message lands). The caller holds the message's chat
-- and then private.lock_message for this id, so the recount below sees every message committed
-- before it. A READ of an inbound message is the owner reading the chat on the phone (Evolution
-- reports those: whatsapp.baileys.service.ts messages.update, 2.3.6): the chat is read up to it.
create or replace function public.apply_message_status(
  p_number_id uuid, p_provider_message_id text, p_status text, p_reason text, p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
declare
  m public.messages%rowtype;
begin
  select * into m from public.messages
   where number_id = p_number_id and provider_message_id = p_provider_message_id;
  if m.id is null then
    insert into private.pending_statuses as ps (number_id, provider_message_id, status, reason, occurred_at)
    values (p_number_id, p_provider_message_id, p_status, p_reason, p_at)
    on conflict (number_id, provider_message_id) do update
      set status = excluded.status, reason = excluded.reason, occurred_at = excluded.occurred_at
      where public.message_status_rank(excluded.status) > public.message_status_rank(ps.status);
    return false;
  end if;
  if m.direction = 'outbound' then
    update public.messages
       set status = p_status,
           status_reason = case when p_status = 'failed' then p_reason else status_reason end,
           status_updated_at = p_at, updated_at = now()
     where id = m.id and public.message_status_rank(p_status) > public.message_status_rank(status);
  elsif p_status = 'read' then
    update public.chats c
       set read_up_to = m.sent_at, updated_at = now(),
           unread_count = (select count(*) from public.messages i
                            where i.chat_id = c.id and i.direction = 'inbound' and i.sent_at > m.sent_at)
     where c.id = m.chat_id and (c.read_up_to is null or c.read_up_to < m.sent_at);
  end if;
  return true;
end $$;

-- A fast path first: a known phone or group chat whose LID (if
-- the event carries one) is already recorded is returned without a write — a new name only when it
-- differs. Everything else (LID-only events, a first link of a LID, a new chat) takes the locked path.
create or replace function public.resolve_chat(
  p_number_id uuid, p_owner_id uuid, p_chat_id text, p_lid text, p_name text, p_is_group boolean)
returns uuid language plpgsql set search_path = ''
as $$
declare
  v_chat uuid;
  v_lid_chat public.chats%rowtype;
  v_name text;
  v_known_lid text;
begin
  p_name := nullif(btrim(p_name), '');  -- one rule for every path: trimmed, and blank is no name
  if p_chat_id not like '%@lid' then
    select id, name, lid into v_chat, v_name, v_known_lid from public.chats
     where number_id = p_number_id and wa_chat_id = p_chat_id;
    if v_chat is not null and (p_lid is null or v_known_lid = p_lid) then
      if p_name is not null and v_name is distinct from p_name then
        update public.chats set name = p_name, updated_at = now() where id = v_chat;
      end if;
      return v_chat;
    end if;
  end if;

  if p_chat_id like '%@lid' then
    p_lid := p_chat_id;
  end if;
  if p_lid is not null then
    perform private.lock_lid(p_number_id, p_lid);
  end if;
  if p_chat_id like '%@lid' then
    select id into v_chat from public.chats where number_id = p_number_id and lid = p_chat_id;
    if v_chat is not null then
      if p_name is not null then
        update public.chats set name = p_name, updated_at = now() where id = v_chat and name is distinct from p_name;
      end if;
      return v_chat;
    end if;
  end if;

  insert into public.chats as c (number_id, owner_id, wa_chat_id, name, is_group)
  values (p_number_id, p_owner_id, p_chat_id, p_name, coalesce(p_is_group, false))
  on conflict (number_id, wa_chat_id) do update
    set name = coalesce(excluded.name, c.name), updated_at = now()
  returning id into v_chat;

  if p_lid is not null and p_chat_id not like '%@lid' then
    -- A chat first seen by its LID alone is the same person: fold it into the phone chat. The LID
    -- lock is held, so no message can be committed into it while it is being folded.
    -- Its unread count adds up, and the later of the two last messages stays the preview.
    select * into v_lid_chat from public.chats
     where number_id = p_number_id and lid = p_lid and id <> v_chat for update;
    if v_lid_chat.id is not null then
      update public.messages set chat_id = v_chat where chat_id = v_lid_chat.id;
      update public.chats c
         set unread_count = c.unread_count + v_lid_chat.unread_count,
             last_message_preview = case when c.last_message_at is null or v_lid_chat.last_message_at > c.last_message_at
                                         then v_lid_chat.last_message_preview else c.last_message_preview end,
             last_message_at = greatest(c.last_message_at, v_lid_chat.last_message_at),
             name = coalesce(c.name, v_lid_chat.name), updated_at = now()
       where c.id = v_chat;
      delete from public.chats where id = v_lid_chat.id;
    end if;
  end if;
  if p_lid is not null then
    update public.chats set lid = p_lid where id = v_chat and lid is distinct from p_lid;
  end if;
  return v_chat;
end $$;

-- The provider accepted the message. A webhook may already have stored it under the provider's id
-- (Evolution emits send.message before its HTTP answer): that copy is folded into our row, keeping
-- what landed on it meanwhile (reactions, edits, a delete), and changes parked for the id apply.
create or replace function public.complete_send(p_message_id uuid, p_provider_message_id text, p_status text,
                                                p_sent_at timestamptz)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
  v_other public.messages%rowtype;
begin
  -- Lock order: the chat, then the message id (as ingest_webhook takes them).
  perform 1 from public.chats c where c.id = (select m.chat_id from public.messages m where m.id = p_message_id)
     for no key update;
  select * into v_msg from public.messages where id = p_message_id for update;
  perform private.lock_message(v_msg.number_id, p_provider_message_id);
  select * into v_other from public.messages
   where number_id = v_msg.number_id and provider_message_id = p_provider_message_id and id <> p_message_id
   for update;
  if v_other.id is not null then
    update private.deleted_message_content set message_id = p_message_id where message_id = v_other.id;
    delete from public.messages where id = v_other.id;
  end if;
  update public.messages m
     set provider_message_id = p_provider_message_id,
         status = case when public.message_status_rank(coalesce(v_other.status, p_status))
                            > public.message_status_rank(p_status) then v_other.status else p_status end,
         status_reason = coalesce(v_other.status_reason, m.status_reason),
         sent_at = coalesce(p_sent_at, m.sent_at),
         reactions = m.reactions || coalesce(v_other.reactions, '{}'::jsonb),
         edit_history = case when v_other.id is not null and v_other.edit_history <> '[]'::jsonb
                             then v_other.edit_history else m.edit_history end,
         edited_at = coalesce(v_other.edited_at, m.edited_at),
         body = case when v_other.edited_at is not null or v_other.deleted_at is not null then v_other.body
                     else m.body end,
         deleted_at = coalesce(v_other.deleted_at, m.deleted_at),
         updated_at = now()
   where m.id = p_message_id;
  perform private.drain_pending_status(v_msg.number_id, p_provider_message_id);
  perform private.drain_pending_changes(v_msg.number_id, p_provider_message_id);
  select * into v_msg from public.messages where id = p_message_id;
  perform private.touch_chat(v_msg.chat_id, v_msg.sent_at, coalesce(v_msg.body, '[' || v_msg.type || ']'));
  return public.message_json(v_msg);
end $$;


select private.backend_only(
  'public.ingest_webhook(text, text, uuid, text, jsonb, text, jsonb, boolean)',
  'public.apply_message_status(uuid, text, text, text, timestamptz)',
  'public.resolve_chat(uuid, uuid, text, text, text, boolean)',
  'public.complete_send(uuid, text, text, timestamptz)');

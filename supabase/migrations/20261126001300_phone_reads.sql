-- Reads on the phone: Evolution reports the owner reading inbound messages on another device as
-- `messages.update` with status READ for those (not fromMe) keys — whatsapp.baileys.service.ts
-- messages.update handler, 2.3.6, which also marks the chat read (`readChatToUpdate`) — so the chat's
-- unread count follows the phone. ingest_webhook from 20261126000700_conversations.sql, unchanged except
-- for the `status` branch.
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
  v_read_at timestamptz;
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
      perform private.touch_chat(v_chat, v_at, coalesce(v_event ->> 'text', '[' || (v_event ->> 'type') || ']'));
      if v_event ->> 'direction' = 'inbound' then
        update public.chats set unread_count = unread_count + 1
         where id = v_chat and (read_up_to is null or v_at >= read_up_to);
      end if;
      perform private.drain_pending_status(v_number.id, v_mid);
      perform private.drain_pending_changes(v_number.id, v_mid);

    elsif v_kind in ('edit', 'delete') then
      perform private.change_or_park(v_number.id, v_event ->> 'provider_message_id', v_event);
      v_changes := v_changes + 1;

    elsif v_kind = 'status' then
      if v_event ->> 'status' = 'read' then
        -- The owner read an inbound message on the phone: the chat is read up to it. The chat is
        -- updated before the message id is locked (lock order chat → message).
        select m.chat_id, m.sent_at into v_chat, v_read_at from public.messages m
         where m.number_id = v_number.id and m.provider_message_id = v_event ->> 'provider_message_id'
           and m.direction = 'inbound';
        if v_chat is not null then
          update public.chats c
             set read_up_to = v_read_at, updated_at = now(),
                 unread_count = (select count(*) from public.messages m
                                  where m.chat_id = c.id and m.direction = 'inbound' and m.sent_at > v_read_at)
           where c.id = v_chat and (c.read_up_to is null or c.read_up_to < v_read_at);
        end if;
      end if;
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
                            'duplicates', v_duplicates, 'statuses', v_statuses, 'changes', v_changes,
                            'ignored', v_ignored, 'transitions', v_transitions);
end $$;

select private.backend_only('public.ingest_webhook(text, text, uuid, text, jsonb, text, jsonb, boolean)');

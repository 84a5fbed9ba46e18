-- Sending: prepare (idempotency + the outbound row), then complete or fail. The provider is called
-- between the two, once per idempotency key.

create or replace function public.prepare_send(
  p_owner uuid, p_chat_id uuid, p_idempotency_key text, p_request_hash text,
  p_type text, p_body text, p_media_url text default null, p_media_mime_type text default null,
  p_media_file_name text default null, p_quoted text default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
  v_number public.numbers%rowtype;
  v_msg public.messages%rowtype;
  v_token text;
begin
  select * into v_chat from public.chats where id = p_chat_id and owner_id = p_owner;
  if v_chat.id is null then
    raise exception 'no such chat' using errcode = 'WA404', hint = 'chat_not_found';
  end if;
  select * into v_number from public.numbers where id = v_chat.number_id;

  insert into public.messages (chat_id, owner_id, number_id, direction, type, body, status, from_me_source,
                               media_url, media_mime_type, media_file_name, quoted_provider_message_id,
                               idempotency_key, request_hash, sent_at)
  select v_chat.id, p_owner, v_number.id, 'outbound', p_type, p_body, 'pending', 'api',
         p_media_url, p_media_mime_type, p_media_file_name, p_quoted, p_idempotency_key, p_request_hash, now()
   where v_number.deleted_at is null
     and v_number.status not in ('pending', 'qr', 'logged_out', 'blocked', 'deleted')
  on conflict (owner_id, idempotency_key) where idempotency_key is not null do nothing
  returning * into v_msg;

  if v_msg.id is null then
    select * into v_msg from public.messages where owner_id = p_owner and idempotency_key = p_idempotency_key;
    if v_msg.id is null then
      raise exception 'this number is not connected (%): reconnect it before sending', v_number.status
        using errcode = 'WA409', hint = 'number_disconnected';
    end if;
    if v_msg.request_hash is distinct from p_request_hash or v_msg.chat_id <> p_chat_id then
      raise exception 'this Idempotency-Key was used for a different message' using errcode = 'WA409',
        hint = 'idempotency_key_reused';
    end if;
    return jsonb_build_object('replay', true, 'message', public.message_json(v_msg));
  end if;

  select api_token into v_token from private.number_secrets where number_id = v_number.id;
  return jsonb_build_object(
    'replay', false, 'message', public.message_json(v_msg), 'to', v_chat.wa_chat_id,
    'number', jsonb_build_object('id', v_number.id, 'provider', v_number.provider,
                                 'provider_instance_id', v_number.provider_instance_id,
                                 'instance_data', v_number.instance_data, 'api_token', v_token));
end $$;

create or replace function public.message_json(m public.messages)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', m.id, 'chat_id', m.chat_id, 'number_id', m.number_id, 'provider_message_id', m.provider_message_id,
    'direction', m.direction, 'type', m.type, 'body', m.body, 'status', m.status, 'status_reason', m.status_reason,
    'media_url', m.media_url, 'media_mime_type', m.media_mime_type, 'media_file_name', m.media_file_name,
    'quoted_provider_message_id', m.quoted_provider_message_id, 'sent_at', m.sent_at, 'created_at', m.created_at,
    'error', m.extra -> 'error')
$$;

-- The provider accepted the message. A webhook may already have stored it under the provider's
-- id (Evolution emits send.message before its HTTP answer): fold that row into ours.
create or replace function public.complete_send(p_message_id uuid, p_provider_message_id text, p_status text,
                                                p_sent_at timestamptz)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
  v_other public.messages%rowtype;
  v_pending private.pending_statuses%rowtype;
  v_round integer;
begin
  -- Lock order: the chat, then the message — the order ingest_webhook takes them in (it upserts the
  -- chat before inserting a message), so a racing send.message webhook waits instead of deadlocking.
  perform 1 from public.chats c where c.id = (select m.chat_id from public.messages m where m.id = p_message_id)
     for no key update;
  select * into v_msg from public.messages where id = p_message_id for update;
  -- The webhook's row can commit between our look and our update: then the update hits the unique
  -- key, and the next round finds and folds that row.
  for v_round in 1..3 loop
    begin
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
      exit;
    exception when unique_violation then
      if v_round = 3 then
        raise;
      end if;
    end;
  end loop;
  delete from private.pending_statuses
   where number_id = v_msg.number_id and provider_message_id = p_provider_message_id
  returning * into v_pending;
  if v_pending.status is not null then
    perform public.apply_message_status(v_msg.number_id, p_provider_message_id, v_pending.status,
                                        v_pending.reason, v_pending.occurred_at);
    select * into v_msg from public.messages where id = p_message_id;
  end if;
  update public.chats
     set last_message_at = greatest(coalesce(last_message_at, v_msg.sent_at), v_msg.sent_at),
         last_message_preview = case when last_message_at is null or last_message_at <= v_msg.sent_at
                                     then left(coalesce(v_msg.body, '[' || v_msg.type || ']'), 200)
                                     else last_message_preview end,
         updated_at = now()
   where id = v_msg.chat_id;
  return public.message_json(v_msg);
end $$;

-- The provider refused it, or its outcome is unknown: the row keeps the error, so a retry with
-- the same Idempotency-Key answers the same error instead of sending again.
create or replace function public.fail_send(p_message_id uuid, p_code text, p_message text, p_http_status integer)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
begin
  update public.messages
     set status = case when p_code = 'outcome_unknown' then status else 'failed' end,
         status_reason = p_message,
         extra = extra || jsonb_build_object('error', jsonb_build_object('code', p_code, 'message', p_message,
                                                                          'http_status', p_http_status)),
         updated_at = now()
   where id = p_message_id
  returning * into v_msg;
  return public.message_json(v_msg);
end $$;

select private.backend_only(
  'public.prepare_send(uuid, uuid, text, text, text, text, text, text, text, text)',
  'public.message_json(public.messages)',
  'public.complete_send(uuid, text, text, timestamptz)',
  'public.fail_send(uuid, text, text, integer)');

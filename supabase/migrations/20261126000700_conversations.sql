-- Conversations the way an inbox works (issue 13): unread counts kept by the ingest call itself,
-- reactions on their target message (never a message row, never the preview), edits that keep the
-- previous text, deletes that hide the content from the owner's reads, and starting a chat.
--
-- Lock order stays chat → message (README "Design decisions"): every path below that updates a
-- message and then its chat locks the chat row first.

alter table public.chats
  add column if not exists unread_count integer not null default 0,
  add column if not exists last_read_at timestamptz,  -- when the owner last read it (our clock)
  -- the read position on the providers' clock (whole seconds): the newest message's own time when the
  -- chat was read or answered; a message stored later and stamped at or after it is unread
  add column if not exists read_up_to timestamptz;

alter table public.messages
  -- {"<reactor>": {"emoji": "👍", "at": "..."}}; a removed reaction keeps {"emoji": null, "at"} so an
  -- older event delivered late cannot bring it back. The reactor is "me" for our own reactions.
  add column if not exists reactions jsonb not null default '{}'::jsonb,
  add column if not exists edited_at timestamptz,
  -- [{"body": "<text before the edit>", "replaced_at": "..."}], oldest first
  add column if not exists edit_history jsonb not null default '[]'::jsonb,
  add column if not exists deleted_at timestamptz;

-- What a deleted message said, out of the owner's (RLS, Realtime) reach: the API shows it only when
-- asked explicitly (GET /api/v1/messages/{id}?include_deleted=true).
create table if not exists private.deleted_message_content (
  message_id uuid primary key references public.messages (id) on delete cascade,
  body text,
  media_url text,
  media_file_name text,
  edit_history jsonb,
  extra jsonb,
  deleted_at timestamptz not null
);

-- A reaction, edit or delete that arrived before its message (providers deliver out of order): kept
-- and applied when the message lands.
create table if not exists private.pending_message_changes (
  id bigint generated always as identity primary key,
  number_id uuid not null references public.numbers (id) on delete cascade,
  provider_message_id text not null,
  change jsonb not null,
  created_at timestamptz not null default now()
);
create index if not exists pending_message_changes_target_idx
  on private.pending_message_changes (number_id, provider_message_id);

grant select, insert, update, delete on private.deleted_message_content, private.pending_message_changes
  to service_role;

-- -- JSON shapes ---------------------------------------------------------------------------------------
create or replace function public.chat_json(c public.chats)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', c.id, 'number_id', c.number_id, 'wa_chat_id', c.wa_chat_id, 'name', c.name, 'is_group', c.is_group,
    'last_message_preview', c.last_message_preview, 'last_message_at', c.last_message_at,
    'unread_count', c.unread_count, 'last_read_at', c.last_read_at, 'created_at', c.created_at)
$$;

-- message_json plus what conversations add; a deleted message's content is absent unless p_content
-- (the private copy) is given.
create or replace function public.message_view(m public.messages, p_content private.deleted_message_content default null)
returns jsonb language sql stable set search_path = ''
as $$
  select public.message_json(m) || jsonb_build_object(
    'reactions', coalesce((select jsonb_agg(jsonb_build_object('reactor', r.key, 'emoji', r.value ->> 'emoji',
                                                               'at', r.value -> 'at') order by r.value ->> 'at')
                             from jsonb_each(m.reactions) r where r.value ->> 'emoji' is not null), '[]'::jsonb),
    'edited_at', m.edited_at,
    'previous_bodies', coalesce((select jsonb_agg(e -> 'body') from jsonb_array_elements(
                                   coalesce(p_content.edit_history, m.edit_history)) e), '[]'::jsonb),
    'deleted', m.deleted_at is not null, 'deleted_at', m.deleted_at)
  || case when p_content.message_id is not null
          then jsonb_build_object('body', p_content.body, 'media_url', p_content.media_url,
                                  'media_file_name', p_content.media_file_name)
          else '{}'::jsonb end
$$;

-- -- Changes to a stored message (the caller holds private.lock_message for the target) ----------------
create or replace function private.lock_chat_of(p_number_id uuid, p_provider_message_id text)
returns void language sql set search_path = ''
as $$
  select 1 from public.chats c
   where c.id = (select m.chat_id from public.messages m
                  where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id)
     for no key update
$$;

create or replace function private.apply_reaction(p_number_id uuid, p_target text, p_reactor text, p_emoji text,
                                                  p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
begin
  update public.messages m
     set reactions = m.reactions || jsonb_build_object(p_reactor, jsonb_build_object(
                       'emoji', nullif(p_emoji, ''), 'at', p_at)),
         updated_at = now()
   where m.number_id = p_number_id and m.provider_message_id = p_target and m.deleted_at is null
     and coalesce((m.reactions -> p_reactor ->> 'at')::timestamptz, '-infinity'::timestamptz) <= p_at;
  return found or exists (select 1 from public.messages m
                           where m.number_id = p_number_id and m.provider_message_id = p_target);
end $$;

create or replace function private.apply_edit(p_number_id uuid, p_target text, p_text text, p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
declare
  v public.messages%rowtype;
begin
  select * into v from public.messages m
   where m.number_id = p_number_id and m.provider_message_id = p_target for update;
  if v.id is null then
    return false;
  end if;
  if v.deleted_at is not null or p_text is null or v.body is not distinct from p_text
     or (v.edited_at is not null and v.edited_at >= p_at) then
    return true;  -- nothing to change: a repeat, an older edit delivered late, or a deleted message
  end if;
  update public.messages
     set edit_history = edit_history || jsonb_build_array(jsonb_build_object('body', v.body, 'replaced_at', p_at)),
         body = p_text, edited_at = p_at, updated_at = now()
   where id = v.id;
  update public.chats set last_message_preview = left(p_text, 200), updated_at = now()
   where id = v.chat_id and last_message_at = v.sent_at;
  return true;
end $$;

create or replace function private.apply_delete(p_number_id uuid, p_target text, p_at timestamptz)
returns boolean language plpgsql set search_path = ''
as $$
declare
  v public.messages%rowtype;
begin
  select * into v from public.messages m
   where m.number_id = p_number_id and m.provider_message_id = p_target for update;
  if v.id is null then
    return false;
  end if;
  if v.deleted_at is not null then
    return true;
  end if;
  insert into private.deleted_message_content (message_id, body, media_url, media_file_name, edit_history, extra,
                                               deleted_at)
  values (v.id, v.body, v.media_url, v.media_file_name, v.edit_history, v.extra, p_at)
  on conflict (message_id) do nothing;
  update public.messages
     set deleted_at = p_at, body = null, media_url = null, media_file_name = null, edit_history = '[]'::jsonb,
         extra = case when v.extra ? 'error' then jsonb_build_object('error', v.extra -> 'error') else '{}'::jsonb end,
         updated_at = now()
   where id = v.id;
  update public.chats set last_message_preview = 'This message was deleted', updated_at = now()
   where id = v.chat_id and last_message_at = v.sent_at;
  return true;
end $$;

-- One change event ({kind: reaction|edit|delete, ...}) on its target; false when the target is not stored.
create or replace function private.apply_change(p_number_id uuid, p_change jsonb)
returns boolean language plpgsql set search_path = ''
as $$
declare
  v_at timestamptz := coalesce((p_change ->> 'timestamp')::timestamptz, now());
begin
  return case p_change ->> 'kind'
    when 'reaction' then private.apply_reaction(p_number_id, p_change ->> 'target_id', p_change ->> 'reactor',
                                                p_change ->> 'emoji', v_at)
    when 'edit' then private.apply_edit(p_number_id, p_change ->> 'provider_message_id', p_change ->> 'text', v_at)
    when 'delete' then private.apply_delete(p_number_id, p_change ->> 'provider_message_id', v_at)
  end;
end $$;

create or replace function private.change_or_park(p_number_id uuid, p_target text, p_change jsonb)
returns void language plpgsql set search_path = ''
as $$
begin
  perform private.lock_chat_of(p_number_id, p_target);
  perform private.lock_message(p_number_id, p_target);
  if not private.apply_change(p_number_id, p_change) then
    insert into private.pending_message_changes (number_id, provider_message_id, change)
    values (p_number_id, p_target, p_change);
  end if;
end $$;

-- Changes that arrived before their message, applied once it is stored (the caller holds its locks).
create or replace function private.drain_pending_changes(p_number_id uuid, p_provider_message_id text)
returns void language plpgsql set search_path = ''
as $$
declare
  v record;
begin
  for v in delete from private.pending_message_changes
            where number_id = p_number_id and provider_message_id = p_provider_message_id
           returning change, id loop
    perform private.apply_change(p_number_id, v.change);
  end loop;
end $$;

-- -- Ingestion ---------------------------------------------------------------------------------------
-- From 20261126000200_ingest_lifecycle.sql, unchanged except: a `reaction` message is applied to its
-- target (never a row, never the preview); `edit` and `delete` events; changes parked for a message
-- not stored yet are applied when it lands; an inbound message adds to the chat's unread count
-- unless it is stamped before the chat's read position; an outbound one (a reply) clears the count.
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

-- -- Product calls ---------------------------------------------------------------------------------------
-- Start a conversation, step 1: the chat when it already exists under this phone, else the number
-- and its secrets for the provider's on-WhatsApp check.
create or replace function public.begin_start_chat(p_owner uuid, p_number_id uuid, p_wa_chat_id text)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  v_chat public.chats%rowtype;
  v_token text;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner and deleted_at is null;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  select * into v_chat from public.chats where number_id = v.id and wa_chat_id = p_wa_chat_id;
  if v_chat.id is not null then
    return jsonb_build_object('chat', public.chat_json(v_chat));
  end if;
  if v.status in ('pending', 'qr', 'logged_out', 'blocked') then
    raise exception 'this number is not connected (%): reconnect it first', v.status
      using errcode = 'WA409', hint = 'number_disconnected';
  end if;
  select api_token into v_token from private.number_secrets where number_id = v.id;
  return jsonb_build_object('number', jsonb_build_object(
    'id', v.id, 'provider', v.provider, 'provider_instance_id', v.provider_instance_id,
    'instance_data', v.instance_data, 'managed_instance', v.managed_instance, 'api_token', v_token));
end $$;

-- Step 2: the chat under the identity the provider confirmed (found or created).
create or replace function public.start_chat(p_owner uuid, p_number_id uuid, p_wa_chat_id text, p_lid text)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  v_existed boolean;
  v_chat uuid;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner and deleted_at is null;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  v_existed := exists (select 1 from public.chats where number_id = v.id and wa_chat_id = p_wa_chat_id);
  v_chat := public.resolve_chat(v.id, p_owner, p_wa_chat_id, p_lid, null, p_wa_chat_id like '%@g.us');
  return jsonb_build_object('created', not v_existed,
                            'chat', (select public.chat_json(c) from public.chats c where c.id = v_chat));
end $$;

-- Mark a chat read: the count is reset now; the provider's read receipt needs the inbound messages
-- stored since the last read (newest first, at most 100) and the number's secrets.
create or replace function public.read_chat(p_owner uuid, p_chat_id uuid)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_chat public.chats%rowtype;
  v public.numbers%rowtype;
  v_token text;
  v_unread jsonb;
begin
  select c.* into v_chat from public.chats c join public.numbers n on n.id = c.number_id
   where c.id = p_chat_id and c.owner_id = p_owner and n.deleted_at is null
     for no key update of c;
  if v_chat.id is null then
    raise exception 'no such chat' using errcode = 'WA404', hint = 'chat_not_found';
  end if;
  select * into v from public.numbers where id = v_chat.number_id;
  select coalesce(jsonb_agg(jsonb_build_object('id', u.provider_message_id, 'author', u.author)), '[]'::jsonb)
    into v_unread
    from (select m.provider_message_id, m.author from public.messages m
           where m.chat_id = v_chat.id and m.direction = 'inbound' and m.provider_message_id is not null
             and (v_chat.last_read_at is null or m.created_at > v_chat.last_read_at)
           order by m.sent_at desc limit 100) u;
  update public.chats
     set unread_count = 0, updated_at = now(), last_read_at = now(),
         read_up_to = greatest(read_up_to, (select max(m.sent_at) from public.messages m where m.chat_id = v_chat.id))
   where id = v_chat.id
  returning * into v_chat;
  select api_token into v_token from private.number_secrets where number_id = v.id;
  return jsonb_build_object('chat', public.chat_json(v_chat), 'unread', v_unread, 'number', jsonb_build_object(
    'id', v.id, 'provider', v.provider, 'provider_instance_id', v.provider_instance_id, 'status', v.status,
    'instance_data', v.instance_data, 'managed_instance', v.managed_instance, 'api_token', v_token));
end $$;

-- A message of the owner's, with what a provider call about it needs (its chat and the number's secrets).
create or replace function public.message_for_action(p_owner uuid, p_message_id uuid, p_include_deleted boolean default false)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  m public.messages%rowtype;
  c public.chats%rowtype;
  v public.numbers%rowtype;
  d private.deleted_message_content%rowtype;
  v_token text;
begin
  select * into m from public.messages where id = p_message_id and owner_id = p_owner;
  select * into v from public.numbers where id = m.number_id and deleted_at is null;
  if m.id is null or v.id is null then
    raise exception 'no such message' using errcode = 'WA404', hint = 'message_not_found';
  end if;
  select * into c from public.chats where id = m.chat_id;
  if p_include_deleted then
    select * into d from private.deleted_message_content where message_id = m.id;
  end if;
  select api_token into v_token from private.number_secrets where number_id = v.id;
  return jsonb_build_object('message', public.message_view(m, d), 'wa_chat_id', c.wa_chat_id, 'is_group', c.is_group,
    'author', m.author,
    'number', jsonb_build_object('id', v.id, 'provider', v.provider, 'provider_instance_id', v.provider_instance_id,
      'status', v.status, 'instance_data', v.instance_data, 'managed_instance', v.managed_instance,
      'api_token', v_token));
end $$;

-- Record what the provider accepted for one of our actions (a reaction, an edit, a delete) through
-- the same code the providers' events take, so the echo webhook changes nothing.
create or replace function public.record_message_change(p_owner uuid, p_message_id uuid, p_change jsonb)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  m public.messages%rowtype;
begin
  select * into m from public.messages where id = p_message_id and owner_id = p_owner;
  if m.id is null or m.provider_message_id is null then
    raise exception 'no such message' using errcode = 'WA404', hint = 'message_not_found';
  end if;
  perform private.change_or_park(m.number_id, m.provider_message_id, p_change || jsonb_build_object(
    'provider_message_id', m.provider_message_id, 'target_id', m.provider_message_id,
    'timestamp', coalesce(p_change ->> 'timestamp', now()::text)));
  select * into m from public.messages where id = p_message_id;
  return public.message_view(m);
end $$;

select private.backend_only(
  'public.ingest_webhook(text, text, uuid, text, jsonb, text, jsonb, boolean)',
  'public.chat_json(public.chats)',
  'public.message_view(public.messages, private.deleted_message_content)',
  'public.begin_start_chat(uuid, uuid, text)',
  'public.start_chat(uuid, uuid, text, text)',
  'public.read_chat(uuid, uuid)',
  'public.message_for_action(uuid, uuid, boolean)',
  'public.record_message_change(uuid, uuid, jsonb)');
revoke all on function private.lock_chat_of(uuid, text), private.apply_reaction(uuid, text, text, text, timestamptz),
  private.apply_edit(uuid, text, text, timestamptz), private.apply_delete(uuid, text, timestamptz),
  private.apply_change(uuid, jsonb), private.change_or_park(uuid, text, jsonb),
  private.drain_pending_changes(uuid, text) from public;

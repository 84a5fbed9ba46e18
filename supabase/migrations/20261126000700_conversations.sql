-- Conversations the way an inbox works: unread counts kept by the ingest call itself,
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
-- Profiles (avatar, group participants) are cached on the chat: 20261126001000_chat_profiles.sql.
alter table public.chats
  add column if not exists avatar_url text,
  add column if not exists participants jsonb,  -- groups: [{"id": "<digits>@c.us", "admin": bool}]
  add column if not exists profile_expires_at timestamptz;

create or replace function public.chat_json(c public.chats)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', c.id, 'number_id', c.number_id, 'wa_chat_id', c.wa_chat_id, 'name', c.name, 'is_group', c.is_group,
    'last_message_preview', c.last_message_preview, 'last_message_at', c.last_message_at,
    'unread_count', c.unread_count, 'last_read_at', c.last_read_at, 'created_at', c.created_at,
    'avatar_url', c.avatar_url, 'participants', c.participants)
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
-- PL/pgSQL, as the other lock helpers (20261126000200_ingest_lifecycle.sql says why).
create or replace function private.lock_chat_of(p_number_id uuid, p_provider_message_id text)
returns void language plpgsql set search_path = ''
as $$
begin
  perform 1 from public.chats c
   where c.id = (select m.chat_id from public.messages m
                  where m.number_id = p_number_id and m.provider_message_id = p_provider_message_id)
     for no key update;
end $$;

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
  -- A media file not fetched yet is no longer wanted: its job ends (no sweep or claim picks it up).
  update public.messages
     set deleted_at = p_at, body = null, media_url = null, media_file_name = null, edit_history = '[]'::jsonb,
         extra = case when v.extra ? 'error' then jsonb_build_object('error', v.extra -> 'error') else '{}'::jsonb end,
         media_state = nullif(media_state, 'pending'), media_next_attempt_at = null, updated_at = now()
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

-- ingest_webhook with reactions, edits, deletes and unread counts: 20261126009000_ingest_fast.sql.

-- -- Product calls ---------------------------------------------------------------------------------------
-- Start a conversation, step 1: the chat when it already exists under this phone, else the number
-- and its secrets for the provider's on-WhatsApp check.
create or replace function public.begin_start_chat(p_owner uuid, p_number_id uuid, p_wa_chat_id text)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  v_chat public.chats%rowtype;
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
  return jsonb_build_object('number', private.number_ref(v));
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
  return jsonb_build_object('chat', public.chat_json(v_chat), 'unread', v_unread, 'number', private.number_ref(v));
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
  return jsonb_build_object('message', public.message_view(m, d), 'wa_chat_id', c.wa_chat_id, 'is_group', c.is_group,
    'author', m.author, 'number', private.number_ref(v));
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

-- Names and faces (issue 13): a person's chat name follows the latest name WhatsApp gives (not the
-- first push name ever seen); a group gets its subject and participants, and every chat an avatar,
-- fetched lazily from the provider and cached with an expiry.

alter table public.chats
  add column if not exists avatar_url text,
  add column if not exists participants jsonb,  -- groups: [{"id": "<digits>@c.us", "admin": bool}]
  add column if not exists profile_expires_at timestamptz;

-- From 20261126000200_ingest_lifecycle.sql, unchanged except `name`: the latest non-empty name wins.
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
      if nullif(btrim(p_name), '') is not null then
        update public.chats set name = p_name, updated_at = now() where id = v_chat and name is distinct from p_name;
      end if;
      return v_chat;
    end if;
  end if;

  insert into public.chats as c (number_id, owner_id, wa_chat_id, name, is_group)
  values (p_number_id, p_owner_id, p_chat_id, nullif(btrim(p_name), ''), coalesce(p_is_group, false))
  on conflict (number_id, wa_chat_id) do update
    set name = coalesce(excluded.name, c.name), updated_at = now()
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

create or replace function public.chat_json(c public.chats)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', c.id, 'number_id', c.number_id, 'wa_chat_id', c.wa_chat_id, 'name', c.name, 'is_group', c.is_group,
    'last_message_preview', c.last_message_preview, 'last_message_at', c.last_message_at,
    'unread_count', c.unread_count, 'last_read_at', c.last_read_at, 'created_at', c.created_at,
    'avatar_url', c.avatar_url, 'participants', c.participants)
$$;

-- The chat, and — when its cached profile has expired — what the provider calls need.
create or replace function public.chat_profile(p_owner uuid, p_chat_id uuid)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  c public.chats%rowtype;
  v public.numbers%rowtype;
  v_token text;
begin
  select * into c from public.chats where id = p_chat_id and owner_id = p_owner;
  select * into v from public.numbers where id = c.number_id and deleted_at is null;
  if c.id is null or v.id is null then
    raise exception 'no such chat' using errcode = 'WA404', hint = 'chat_not_found';
  end if;
  if (c.profile_expires_at is not null and c.profile_expires_at > now())
     or v.status in ('pending', 'qr', 'logged_out', 'blocked') then
    return jsonb_build_object('chat', public.chat_json(c), 'due', false);
  end if;
  select api_token into v_token from private.number_secrets where number_id = v.id;
  return jsonb_build_object('chat', public.chat_json(c), 'due', true, 'number', jsonb_build_object(
    'id', v.id, 'provider', v.provider, 'provider_instance_id', v.provider_instance_id,
    'instance_data', v.instance_data, 'managed_instance', v.managed_instance, 'api_token', v_token));
end $$;

-- Store what the provider said (a group's subject becomes its name) until p_ttl_seconds from now.
create or replace function public.save_chat_profile(p_owner uuid, p_chat_id uuid, p_avatar_url text, p_subject text,
                                                    p_participants jsonb, p_ttl_seconds integer)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  c public.chats%rowtype;
begin
  update public.chats
     set avatar_url = p_avatar_url,
         name = case when is_group then coalesce(nullif(btrim(p_subject), ''), name) else name end,
         participants = case when is_group then coalesce(p_participants, participants) else participants end,
         profile_expires_at = now() + make_interval(secs => p_ttl_seconds), updated_at = now()
   where id = p_chat_id and owner_id = p_owner
  returning * into c;
  if c.id is null then
    raise exception 'no such chat' using errcode = 'WA404', hint = 'chat_not_found';
  end if;
  return public.chat_json(c);
end $$;

select private.backend_only(
  'public.resolve_chat(uuid, uuid, text, text, text, boolean)',
  'public.chat_json(public.chats)',
  'public.chat_profile(uuid, uuid)',
  'public.save_chat_profile(uuid, uuid, text, text, jsonb, integer)');

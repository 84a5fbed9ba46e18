-- Names and faces: a person's chat name follows the latest name WhatsApp gives (not the
-- first push name ever seen); a group gets its subject and participants, and every chat an avatar,
-- fetched lazily from the provider and cached with an expiry (the columns: 20261126000700_conversations.sql).
-- The name rule (the latest non-empty name wins) is in resolve_chat, 20261126009000_ingest_fast.sql.

-- The chat, and — when its cached profile has expired — what the provider calls need.
create or replace function public.chat_profile(p_owner uuid, p_chat_id uuid)
returns jsonb language plpgsql stable set search_path = ''
as $$
declare
  c public.chats%rowtype;
  v public.numbers%rowtype;
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
  return jsonb_build_object('chat', public.chat_json(c), 'due', true, 'number', private.number_ref(v));
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
  'public.chat_profile(uuid, uuid)',
  'public.save_chat_profile(uuid, uuid, text, text, jsonb, integer)');

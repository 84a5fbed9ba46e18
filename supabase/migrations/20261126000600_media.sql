-- Media the inbox can show: inbound media persisted to Supabase Storage off the webhook path, and
-- files the frontend uploads to send.
--
--   webhook ──ingest_webhook (unchanged)──▶ messages row, media_state 'pending' (trigger below)
--   lib/media/jobs.py ──media_claim / media_due / media_get──▶ fetch from the provider, put to S3
--                     ──media_stored / media_attempt_failed──▶ 'stored' | retry later | 'failed'

-- 1. Media state on the message. ---------------------------------------------------------------------
alter table public.messages
  add column media_state text check (media_state in ('pending', 'stored', 'failed')),
  add column media_attempts smallint not null default 0,
  add column media_next_attempt_at timestamptz,
  add column media_lease_until timestamptz,
  add column media_error text,
  add column media_object_key text,
  add column media_size bigint,
  add column media_sha256 text,
  add column media_stored_at timestamptz;
create index messages_media_due_idx on public.messages (media_next_attempt_at) where media_state = 'pending';

-- Media the provider delivered (or that was sent from the phone) starts 'pending'. Not our own API
-- sends (`from_me_source = 'api'`, set by prepare_send), nor their echo (Evolution `send.message`,
-- GREEN-API `outgoingAPIMessageReceived`), which complete_send folds into our row: that file is
-- already ours (an upload) or a URL we were given, and fetching it again would cost a provider call
-- and leave an orphan object. A BEFORE trigger with a WHEN clause: rows without media never call
-- the function, and the webhook's single SQL call stays single (bench/media.py measures the cost).
create or replace function private.media_pending_on_insert()
returns trigger language plpgsql set search_path = ''
as $$
begin
  new.media_state := 'pending';
  new.media_next_attempt_at := now();
  return new;
end $$;

create trigger messages_media_pending before insert on public.messages
  for each row when (new.media_state is null and new.from_me_source is distinct from 'api'
                     and new.type in ('image', 'video', 'audio', 'voice', 'document', 'sticker'))
  execute function private.media_pending_on_insert();

-- 2. What a worker needs to fetch one item: the message, its chat id and its number's credentials. ------
create or replace function private.media_jobs(p_ids uuid[])
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'message_id', m.id, 'owner_id', m.owner_id, 'number_id', m.number_id, 'type', m.type,
           'direction', m.direction, 'provider_message_id', m.provider_message_id, 'chat_id', c.wa_chat_id,
           'media_url', m.media_url, 'mime_type', m.media_mime_type, 'file_name', m.media_file_name,
           'attempts', m.media_attempts, 'provider_marker', m.extra ->> 'provider_marker',
           'number', private.number_ref(n))
         order by m.media_next_attempt_at), '[]'::jsonb)
    from public.messages m
    join public.chats c on c.id = m.chat_id
    join public.numbers n on n.id = m.number_id
   where m.id = any(p_ids)
$$;

-- Right after a webhook: claim the pending media of these messages (a lease, so two workers never
-- fetch the same item at once).
create or replace function public.media_claim(p_number_id uuid, p_provider_message_ids jsonb,
                                              p_lease_seconds integer default 120)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_ids uuid[];
begin
  with claimed as (
    update public.messages m set media_lease_until = now() + make_interval(secs => p_lease_seconds)
     where m.id in (select id from public.messages
                     where number_id = p_number_id
                       and provider_message_id in (select jsonb_array_elements_text(p_provider_message_ids))
                       and media_state = 'pending' and (media_lease_until is null or media_lease_until < now())
                       for update skip locked)
    returning m.id)
  select array_agg(id) into v_ids from claimed;
  return private.media_jobs(coalesce(v_ids, '{}'));
end $$;

-- The cron sweep: claim the items whose next attempt is due.
create or replace function public.media_due(p_limit integer default 20, p_now timestamptz default now(),
                                            p_lease_seconds integer default 120)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_ids uuid[];
begin
  with claimed as (
    update public.messages m set media_lease_until = now() + make_interval(secs => p_lease_seconds)
     where m.id in (select id from public.messages
                     where media_state = 'pending' and media_next_attempt_at <= p_now
                       and (media_lease_until is null or media_lease_until < now())
                     order by media_next_attempt_at limit p_limit
                       for update skip locked)
    returning m.id)
  select array_agg(id) into v_ids from claimed;
  return private.media_jobs(coalesce(v_ids, '{}'));
end $$;

-- The API: one owner's media item, claimed for an on-demand attempt when it is pending and free
-- (on demand ignores the back-off: someone is waiting for it). Null for another owner's message.
create or replace function public.media_get(p_owner uuid, p_message_id uuid, p_claim boolean default true,
                                            p_lease_seconds integer default 60)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
  v_claimed boolean := false;
begin
  -- a message deleted for everyone hides its media too (deleted_at: 20261126000700_conversations.sql)
  select * into v_msg from public.messages where id = p_message_id and owner_id = p_owner and deleted_at is null;
  if v_msg.id is null then
    return null;
  end if;
  if p_claim and v_msg.media_state = 'pending' then
    update public.messages set media_lease_until = now() + make_interval(secs => p_lease_seconds)
     where id = v_msg.id and media_state = 'pending' and (media_lease_until is null or media_lease_until < now());
    v_claimed := found;
  end if;
  return jsonb_build_object(
    'message_id', v_msg.id, 'state', v_msg.media_state, 'object_key', v_msg.media_object_key,
    'mime_type', v_msg.media_mime_type, 'file_name', v_msg.media_file_name, 'size', v_msg.media_size,
    'error', v_msg.media_error, 'next_attempt_at', v_msg.media_next_attempt_at,
    'job', case when v_claimed then private.media_jobs(array[v_msg.id]) -> 0 end);
end $$;

create or replace function public.media_stored(p_message_id uuid, p_object_key text, p_mime_type text,
                                               p_file_name text, p_size bigint, p_sha256 text)
returns jsonb language sql set search_path = ''
as $$
  update public.messages
     set media_state = 'stored', media_object_key = p_object_key,
         media_mime_type = coalesce(p_mime_type, media_mime_type),
         media_file_name = coalesce(media_file_name, p_file_name), media_size = p_size, media_sha256 = p_sha256,
         media_stored_at = now(), media_error = null, media_lease_until = null, media_next_attempt_at = null,
         media_attempts = media_attempts + 1, updated_at = now()
   where id = p_message_id and media_state = 'pending'
  returning jsonb_build_object('state', media_state, 'object_key', media_object_key, 'attempts', media_attempts)
$$;

-- A failed attempt: retried after p_base_seconds * 2^attempts (at most an hour), or 'failed' with
-- the reason when it can never succeed or the attempts are used up. Nothing is dropped silently.
create or replace function public.media_attempt_failed(p_message_id uuid, p_error text, p_final boolean,
                                                       p_max_attempts integer, p_base_seconds integer)
returns jsonb language sql set search_path = ''
as $$
  update public.messages
     set media_attempts = media_attempts + 1, media_error = left(p_error, 500), media_lease_until = null,
         media_state = case when p_final or media_attempts + 1 >= p_max_attempts then 'failed' else 'pending' end,
         media_next_attempt_at = case when p_final or media_attempts + 1 >= p_max_attempts then null
                                      else now() + make_interval(secs => least(p_base_seconds * power(2, media_attempts),
                                                                               3600)) end,
         updated_at = now()
   where id = p_message_id and media_state = 'pending'
  returning jsonb_build_object('state', media_state, 'attempts', media_attempts,
                               'next_attempt_at', media_next_attempt_at, 'error', media_error)
$$;

-- 3. Uploads the frontend makes (presigned PUT) to send as media. ------------------------------------------
create table private.media_uploads (
  id uuid primary key,
  owner_id uuid not null references auth.users (id) on delete cascade,
  object_key text not null unique,
  content_type text not null,
  file_name text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index media_uploads_owner_idx on private.media_uploads (owner_id, created_at);

create or replace function public.media_upload_create(p_owner uuid, p_upload_id uuid, p_object_key text,
                                                      p_content_type text, p_file_name text,
                                                      p_expires_at timestamptz)
returns jsonb language sql set search_path = ''
as $$
  insert into private.media_uploads (id, owner_id, object_key, content_type, file_name, expires_at)
  values (p_upload_id, p_owner, p_object_key, p_content_type, p_file_name, p_expires_at)
  returning jsonb_build_object('upload_id', id, 'object_key', object_key, 'content_type', content_type,
                               'file_name', file_name, 'expires_at', expires_at)
$$;

create or replace function public.media_upload_get(p_owner uuid, p_upload_id uuid)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object('upload_id', id, 'object_key', object_key, 'content_type', content_type,
                            'file_name', file_name, 'expires_at', expires_at)
    from private.media_uploads where id = p_upload_id and owner_id = p_owner
$$;

-- 4. Message JSON carries the media state. ------------------------------------------------------------------
create or replace function public.message_json(m public.messages)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', m.id, 'chat_id', m.chat_id, 'number_id', m.number_id, 'provider_message_id', m.provider_message_id,
    'direction', m.direction, 'type', m.type, 'body', m.body, 'status', m.status, 'status_reason', m.status_reason,
    'media_url', m.media_url, 'media_mime_type', m.media_mime_type, 'media_file_name', m.media_file_name,
    'media_state', m.media_state, 'media_size', m.media_size, 'media_sha256', m.media_sha256,
    'media_error', m.media_error,
    'quoted_provider_message_id', m.quoted_provider_message_id, 'sent_at', m.sent_at, 'created_at', m.created_at,
    'error', m.extra -> 'error')
$$;

select private.backend_only(
  'public.media_claim(uuid, jsonb, integer)',
  'public.media_due(integer, timestamptz, integer)',
  'public.media_get(uuid, uuid, boolean, integer)',
  'public.media_stored(uuid, text, text, text, bigint, text)',
  'public.media_attempt_failed(uuid, text, boolean, integer, integer)',
  'public.media_upload_create(uuid, uuid, text, text, text, timestamptz)',
  'public.media_upload_get(uuid, uuid)');

-- 5. The Supabase Storage bucket and who may read it. ------------------------------------------------------
-- A plain PostgreSQL (make dev, tests) has no `storage` schema: this stand-in creates the part of it
-- the bucket and the policy need, as supabase/storage defines it (migrations/tenant/0002-storage-schema.sql
-- in github.com/supabase/storage). Never runs on Supabase, where the schema exists.
do $$
begin
  if to_regnamespace('storage') is null then
    create schema storage;
    grant usage on schema storage to anon, authenticated, service_role;
    create table storage.buckets (
      id text primary key,
      name text not null unique,
      owner uuid,
      public boolean default false,
      file_size_limit bigint,
      allowed_mime_types text[],
      created_at timestamptz default now(),
      updated_at timestamptz default now()
    );
    create table storage.objects (
      id uuid primary key default gen_random_uuid(),
      bucket_id text references storage.buckets (id),
      name text,
      owner uuid,
      metadata jsonb,
      created_at timestamptz default now(),
      updated_at timestamptz default now(),
      last_accessed_at timestamptz default now(),
      unique (bucket_id, name)
    );
    alter table storage.buckets enable row level security;
    alter table storage.objects enable row level security;
    grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
    create function storage.foldername(name text) returns text[] language plpgsql
    as $f$
    declare
      _parts text[];
    begin
      select string_to_array(name, '/') into _parts;
      return _parts[1:array_length(_parts, 1) - 1];
    end
    $f$;
  end if;
end $$;

-- Private bucket: objects are `<owner id>/<number id>/<message id>` (inbound) and
-- `<owner id>/uploads/<upload id>` (outbound); an owner can read, from the frontend with their own
-- JWT, exactly the objects under their id. Writes go through the backend's S3 keys only.
insert into storage.buckets (id, name, public, file_size_limit)
values ('media', 'media', false, 100000000)
on conflict (id) do nothing;

create policy "owners read their media" on storage.objects
  for select to authenticated
  using (bucket_id = 'media' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- Core schema for multi-provider numbers: secrets out of reach of the API roles, status with
-- reason and timestamps, idempotent messages, connection history, dead letters, rollout list.
-- Existing GREEN-API rows keep working: credentials move, ids and history stay.

-- 1. A schema the API roles cannot see: provider secrets and backend-only tables. -----------------
create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

create table private.number_secrets (
  number_id uuid primary key references public.numbers (id) on delete cascade,
  api_token text,        -- GREEN-API apiTokenInstance / Evolution instance token
  webhook_token text,    -- the token the provider presents on our webhook (GREEN-API webhookUrlToken)
  updated_at timestamptz not null default now()
);

insert into private.number_secrets (number_id, api_token)
select id, api_token_instance from public.numbers;

-- The legacy row kept the GREEN-API token where its owner's browser could read it.
alter table public.numbers drop column api_token_instance;

-- 2. Numbers: routing key, managed instances, status with reason and timestamps, QR, soft delete. ---
alter table public.numbers
  alter column id_instance drop not null,
  add column provider_instance_id text,
  add column managed_instance boolean not null default false,
  add column status_reason text,
  add column status_changed_at timestamptz,
  add column provider_state text,
  add column provider_reason_code integer,
  add column connected_at timestamptz,
  add column disconnected_at timestamptz,
  add column qr_code text,
  add column pairing_code text,
  add column qr_expires_at timestamptz,
  add column deleted_at timestamptz;

update public.numbers
   set provider_instance_id = id_instance,
       instance_data = jsonb_build_object('idInstance', id_instance, 'apiUrl', api_url) || instance_data,
       status = case status when 'authorized' then 'active'
                            when 'notAuthorized' then 'disconnected'
                            else status end,
       status_changed_at = updated_at;

-- GREEN-API instance id or Evolution instance name: how a webhook finds its number.
create unique index numbers_provider_instance_key on public.numbers (provider, provider_instance_id)
  where deleted_at is null and provider_instance_id is not null;

-- The status vocabulary (README, "Number status"). NOT VALID: a legacy row with a word outside it
-- stays readable; every new write is checked.
alter table public.numbers add constraint numbers_status_check
  check (status in ('pending', 'qr', 'connecting', 'active', 'disconnected', 'logged_out', 'blocked', 'deleted'))
  not valid;

-- 3. Chats: one canonical identity per contact (README, "Chat identity"). --------------------------
alter table public.chats
  add column lid text,
  add column is_group boolean not null default false,
  add column updated_at timestamptz not null default now();
update public.chats set is_group = wa_chat_id like '%@g.us';
create unique index chats_number_lid_key on public.chats (number_id, lid) where lid is not null;

-- 4. Messages: provider id unique per number, status moves forward, media by URL only. -------------
alter table public.messages rename column id_message to provider_message_id;
alter table public.messages
  add column number_id uuid references public.numbers (id) on delete cascade,
  add column sent_at timestamptz,
  add column status_reason text,
  add column status_updated_at timestamptz,
  add column from_me_source text check (from_me_source in ('api', 'phone')),
  add column author text,
  add column author_name text,
  add column quoted_provider_message_id text,
  add column media_url text,
  add column media_mime_type text,
  add column media_file_name text,
  add column extra jsonb not null default '{}'::jsonb,
  add column idempotency_key text,
  add column request_hash text,
  add column updated_at timestamptz not null default now();

update public.messages m set number_id = c.number_id, sent_at = m.created_at
  from public.chats c where c.id = m.chat_id;
alter table public.messages alter column number_id set not null;

-- GREEN-API delivers duplicates; the legacy product stored some twice. Keep the first copy in the
-- inbox and the later copies, whole, in an archive, so the unique key below can hold.
create table private.legacy_duplicate_messages (like public.messages including all);
with ranked as (
  select id, row_number() over (partition by number_id, provider_message_id order by created_at, id) as n
    from public.messages where provider_message_id is not null
), moved as (
  delete from public.messages m using ranked r where m.id = r.id and r.n > 1 returning m.*
)
insert into private.legacy_duplicate_messages select * from moved;

create unique index messages_number_provider_message_key
  on public.messages (number_id, provider_message_id);
create unique index messages_owner_idempotency_key
  on public.messages (owner_id, idempotency_key) where idempotency_key is not null;
create index messages_chat_sent_idx on public.messages (chat_id, sent_at);

-- GREEN-API's failure words become `failed`, keeping the word as the reason.
update public.messages
   set status_reason = status, status = 'failed'
 where status in ('noAccount', 'notInGroup', 'yellowCard');
alter table public.messages add constraint messages_status_check
  check (status in ('pending', 'sent', 'delivered', 'read', 'failed', 'received')) not valid;

-- 5. Connection history: every transition with its reason, and whether the state changed. ---------
create table public.number_status_events (
  id bigint generated always as identity primary key,
  number_id uuid not null references public.numbers (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  from_status text,
  to_status text not null,
  changed boolean not null,
  reason text,
  provider_state text,
  reason_code integer,
  source text not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index number_status_events_number_idx on public.number_status_events (number_id, id desc);

-- 6. Backend-only tables. --------------------------------------------------------------------------
create table private.dead_letters (
  id bigint generated always as identity primary key,
  provider text not null,
  reason text not null,
  event_type text,
  provider_instance_id text,
  number_id uuid,
  payload jsonb not null,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  replayed_at timestamptz
);
create index dead_letters_pending_idx on private.dead_letters (created_at) where replayed_at is null;

create table private.provider_rollout (
  user_id uuid not null references auth.users (id) on delete cascade,
  provider text not null check (provider in ('green-api', 'evolution')),
  added_at timestamptz not null default now(),
  primary key (user_id, provider)
);

grant select, insert, update, delete on all tables in schema private to service_role;
grant usage, select on all sequences in schema private to service_role;

-- 7. Row level security: owners read their own rows; writes go through the backend. ---------------
drop policy "owners manage their numbers" on public.numbers;
drop policy "owners manage their chats" on public.chats;
drop policy "owners manage their messages" on public.messages;

create policy "owners read their numbers" on public.numbers
  for select to authenticated using (owner_id = (select auth.uid()));
create policy "owners read their chats" on public.chats
  for select to authenticated using (owner_id = (select auth.uid()));
create policy "owners read their messages" on public.messages
  for select to authenticated using (owner_id = (select auth.uid()));

alter table public.number_status_events enable row level security;
create policy "owners read their number history" on public.number_status_events
  for select to authenticated using (owner_id = (select auth.uid()));

-- Realtime/frontend reads need only select; nothing else for the browser roles.
revoke insert, update, delete, truncate, references, trigger
  on public.numbers, public.chats, public.messages, public.number_status_events from anon, authenticated;
revoke all on public.numbers, public.chats, public.messages, public.number_status_events from anon;

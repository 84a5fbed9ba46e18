-- Baseline: the schema of the GREEN-API-only product, as it ran before multi-provider support.
-- Every number was a GREEN-API instance whose credentials lived on the row itself.

create table public.numbers (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  label text not null default '',
  phone text,
  id_instance text not null,
  api_token_instance text not null,
  api_url text not null default 'https://api.green-api.com',
  status text not null default 'pending',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index numbers_id_instance_key on public.numbers (id_instance);
create index numbers_owner_idx on public.numbers (owner_id);

create table public.chats (
  id uuid primary key default gen_random_uuid(),
  number_id uuid not null references public.numbers (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  wa_chat_id text not null,
  name text,
  last_message_preview text,
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  unique (number_id, wa_chat_id)
);
create index chats_owner_idx on public.chats (owner_id, last_message_at desc);

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  chat_id uuid not null references public.chats (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  id_message text,
  direction text not null check (direction in ('inbound', 'outbound')),
  type text not null default 'text',
  body text,
  status text,
  created_at timestamptz not null default now()
);
create index messages_chat_idx on public.messages (chat_id, created_at);

alter table public.numbers enable row level security;
alter table public.chats enable row level security;
alter table public.messages enable row level security;

create policy "owners manage their numbers" on public.numbers
  for all to authenticated using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy "owners manage their chats" on public.chats
  for all to authenticated using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy "owners manage their messages" on public.messages
  for all to authenticated using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));

-- History import and recovery: the recent history a provider holds is imported through the
-- same idempotent ingest_webhook (a webhook and an import of one message make one row), in pages whose
-- progress is stored here — resumable, and visible to the owner (RLS, Realtime).

create table if not exists public.history_imports (
  id uuid primary key default gen_random_uuid(),
  number_id uuid not null references public.numbers (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  reason text not null check (reason in ('first_connect', 'recovery', 'manual')),
  since timestamptz not null,
  until timestamptz not null,
  state text not null default 'pending' check (state in ('pending', 'running', 'done', 'failed')),
  cursor jsonb,
  pages integer not null default 0,
  imported integer not null default 0,
  duplicates integer not null default 0,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
-- one open import per number: a second request resumes it
create unique index if not exists history_imports_open_idx on public.history_imports (number_id)
  where state in ('pending', 'running');
create index if not exists history_imports_number_idx on public.history_imports (number_id, created_at desc);

alter table public.history_imports enable row level security;
create policy "owners read their history imports" on public.history_imports
  for select to authenticated using (owner_id = (select auth.uid()));
revoke all on public.history_imports from anon, authenticated;
grant select on public.history_imports to authenticated;
grant select, insert, update, delete on public.history_imports to service_role;

do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime')
     and not exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime'
                       and schemaname = 'public' and tablename = 'history_imports') then
    alter publication supabase_realtime add table public.history_imports;
  end if;
end $$;

create or replace function public.history_import_json(h public.history_imports)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object('id', h.id, 'number_id', h.number_id, 'reason', h.reason, 'since', h.since,
                            'until', h.until, 'state', h.state, 'pages', h.pages, 'imported', h.imported,
                            'duplicates', h.duplicates, 'error', h.error, 'created_at', h.created_at,
                            'finished_at', h.finished_at)
$$;

-- The open import of a number (resumed), or a new one for [p_since, now]; with the number's secrets.
-- p_owner null: a job acting for the owner (first connection, recovery).
create or replace function public.history_begin(p_owner uuid, p_number_id uuid, p_since timestamptz, p_reason text)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  h public.history_imports%rowtype;
begin
  select * into v from public.numbers
   where id = p_number_id and (p_owner is null or owner_id = p_owner) and deleted_at is null for no key update;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  if v.status <> 'active' then
    raise exception 'this number is not connected (%): history can be imported once it is', v.status
      using errcode = 'WA409', hint = 'number_disconnected';
  end if;
  select * into h from public.history_imports where number_id = v.id and state in ('pending', 'running');
  if h.id is null then
    insert into public.history_imports (number_id, owner_id, reason, since, until)
    values (v.id, v.owner_id, p_reason, p_since, now())
    returning * into h;
  end if;
  update public.history_imports set state = 'running', updated_at = now() where id = h.id returning * into h;
  return jsonb_build_object('import', public.history_import_json(h), 'cursor', h.cursor,
                            'number', private.number_ref(v));
end $$;

-- One page done (p_cursor null: the last one). A first-connection import leaves the chats it filled
-- read: that history was on the phone already; a recovery's messages stay unread (they are new here).
create or replace function public.history_progress(p_import_id uuid, p_cursor jsonb, p_imported integer,
                                                   p_duplicates integer, p_done boolean, p_error text default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  h public.history_imports%rowtype;
begin
  update public.history_imports
     set cursor = p_cursor, pages = pages + case when p_error is null then 1 else 0 end,
         imported = imported + p_imported, duplicates = duplicates + p_duplicates, error = p_error,
         state = case when p_error is not null then 'failed' when p_done then 'done' else 'running' end,
         finished_at = case when p_done or p_error is not null then now() end, updated_at = now()
   where id = p_import_id
  returning * into h;
  if p_done and h.reason = 'first_connect' then
    update public.chats c set unread_count = 0, read_up_to = greatest(c.read_up_to, h.until)
     where c.number_id = h.number_id
       and not exists (select 1 from public.messages m
                        where m.chat_id = c.id and m.direction = 'inbound' and m.sent_at > h.until);
  end if;
  return public.history_import_json(h);
end $$;

create or replace function public.history_status(p_owner uuid, p_number_id uuid)
returns jsonb language plpgsql stable set search_path = ''
as $$
begin
  if not exists (select 1 from public.numbers where id = p_number_id and owner_id = p_owner and deleted_at is null) then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  return (select coalesce(jsonb_agg(public.history_import_json(h) order by h.created_at desc), '[]'::jsonb)
            from (select * from public.history_imports
                   where number_id = p_number_id order by created_at desc limit 20) h);
end $$;

-- What the history job does next: first-connection imports, open ones to resume, and recovery
-- after an outage, found by the job itself: once the health cron has resolved a `server_down`
-- incident for Evolution (private.incidents, 20261126000500_operations.sql), every active Evolution number
-- imports the window it was down (from the incident's `since`, five minutes earlier for clock skew), once.
create or replace function public.history_due(p_limit integer default 20)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(d), '[]'::jsonb) from (
    select jsonb_build_object('number_id', n.id, 'reason', 'first_connect',
                              'since', coalesce(n.connected_at, now())) as d
      from public.numbers n
     where n.status = 'active' and n.deleted_at is null
       and not exists (select 1 from public.history_imports h where h.number_id = n.id)
    union all
    select jsonb_build_object('number_id', h.number_id, 'reason', h.reason, 'since', h.since)
      from public.history_imports h join public.numbers n on n.id = h.number_id
     where h.state in ('pending', 'running') and n.status = 'active' and n.deleted_at is null
    union all
    select jsonb_build_object('number_id', n.id, 'reason', 'recovery',
                              'since', coalesce((i.details ->> 'since')::timestamptz, i.opened_at)
                                       - interval '5 minutes')
      from private.incidents i
      join public.numbers n on n.provider = 'evolution' and n.status = 'active' and n.deleted_at is null
     where i.rule = 'server_down' and i.subject = 'evolution' and i.resolved_at > now() - interval '1 day'
       and exists (select 1 from public.history_imports h0 where h0.number_id = n.id)  -- else first_connect
       and not exists (select 1 from public.history_imports h where h.number_id = n.id
                         and h.reason = 'recovery' and h.created_at >= i.resolved_at)
     limit p_limit) due
$$;

select private.backend_only(
  'public.history_import_json(public.history_imports)',
  'public.history_begin(uuid, uuid, timestamptz, text)',
  'public.history_progress(uuid, jsonb, integer, integer, boolean, text)',
  'public.history_status(uuid, uuid)',
  'public.history_due(integer)');

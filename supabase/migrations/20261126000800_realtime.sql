-- Live updates: the frontend subscribes to changes of its chats, messages and numbers over
-- Supabase Realtime. Realtime's Postgres Changes deliver rows of the tables in the
-- `supabase_realtime` publication, each checked against the table's RLS policies for the subscriber
-- (https://supabase.com/docs/guides/realtime/postgres-changes), so owners see only their own rows.
-- Supabase creates the publication; a plain PostgreSQL (make dev, tests) gets an empty one here.
do $$
declare
  t text;
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
  foreach t in array array['chats', 'messages', 'numbers'] loop
    if not exists (select 1 from pg_publication_tables
                    where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end $$;

-- The provider migration of the multi-provider plan: every existing number is a GREEN-API one.
alter table public.numbers
  add column provider text not null default 'green-api',
  add column instance_data jsonb not null default '{}'::jsonb;

alter table public.numbers
  add constraint numbers_provider_check check (provider in ('green-api', 'evolution'));

create index numbers_provider_idx on public.numbers (provider);
create index numbers_status_provider_idx on public.numbers (status, provider);

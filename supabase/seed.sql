-- Local seed data (supabase db reset / make dev): one user with a GREEN-API number and one
-- user on the Evolution beta list. Never applied to production.
insert into auth.users (id, email) values
  ('00000000-0000-4000-8000-000000000001', 'alice@example.test'),
  ('00000000-0000-4000-8000-000000000002', 'bob@example.test')
on conflict (id) do nothing;

insert into private.provider_rollout (user_id, provider) values
  ('00000000-0000-4000-8000-000000000001', 'evolution')
on conflict do nothing;

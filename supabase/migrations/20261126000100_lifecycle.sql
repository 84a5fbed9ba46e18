-- Number lifecycle, written down: the status state machine, provider-event ordering, history
-- without repeats, race-safe idempotent creation with quotas, teardown events of deleted numbers,
-- dead letters with back-off and a final state, and the two ingest races closed with locks.

-- 1. Legacy statuses outside the vocabulary (GREEN-API's own words stored by the old product) ---
-- A row with such a word fails the status check on its next update (e.g. saving a QR).
update public.numbers
   set status = case status when 'sleepMode' then 'disconnected' when 'starting' then 'connecting'
                            when 'yellowCard' then 'blocked' when 'notAuthorized' then 'logged_out'
                            when 'authorized' then 'active' else 'disconnected' end
 where status not in ('pending', 'qr', 'connecting', 'active', 'disconnected', 'logged_out', 'blocked', 'deleted');
alter table public.numbers validate constraint numbers_status_check;

-- 2. Numbers: provider-event clock, creation lease, request fingerprint ----------------------------
alter table public.numbers
  add column provider_event_at timestamptz,      -- time of the last provider event applied or seen
  add column provider_event_clock text,          -- 'provider' (its own stamp) or 'receipt' (our clock)
  add column create_started_at timestamptz,      -- set while a create is in flight (a lease); null when done
  add column create_request_hash text;

-- The baseline's unique index ignored soft deletes: a GREEN-API instance could never be linked again.
drop index if exists public.numbers_id_instance_key;
create unique index numbers_id_instance_live_key on public.numbers (id_instance)
  where deleted_at is null and id_instance is not null;
-- Teardown events name the instance of a number we already deleted.
create index numbers_provider_instance_any_idx on public.numbers (provider, provider_instance_id);
-- A user's numbers by creation: the hourly quota count (deleted ones included) and the list in its
-- order (created_at, id) straight from the index, no sort. It covers the baseline's owner index.
create index numbers_owner_created_idx on public.numbers (owner_id, created_at, id);
drop index if exists public.numbers_owner_idx;

-- 3. History: one row per change; repeats of the same state are counted on it -------------------
alter table public.number_status_events
  add column repeat_count integer not null default 0,
  add column last_seen_at timestamptz;

-- 4. The state machine (README "Number status"). A provider event (webhook, a live state read by
-- the API, the health cron or the sync job) may move a number only along this table; null means
-- the event is ignored. `logged_out` and `blocked` are left only by a scan (`active`), a QR the user
-- asked for, or another explicit action of the user (p_explicit).
create table private.status_transitions (
  from_status text not null,
  event text not null,
  to_status text,   -- null: ignored
  primary key (from_status, event)
);
insert into private.status_transitions (from_status, event, to_status)
select f, e, case
  when e = 'active' then 'active'
  when e = 'blocked' then 'blocked'
  when e = 'logged_out' then case when f = 'blocked' then null else 'logged_out' end
  when f in ('logged_out', 'blocked') then null
  when e = 'connecting' then case when f = 'qr' then 'qr' else 'connecting' end
  when e = 'disconnected' then 'disconnected'
  when e = 'qr' then case when f = 'active' then null else 'qr' end
  when e = 'pending' then case when f = 'pending' then 'pending' else null end
end
from unnest(array['pending', 'qr', 'connecting', 'active', 'disconnected', 'logged_out', 'blocked']) f,
     unnest(array['pending', 'qr', 'connecting', 'active', 'disconnected', 'logged_out', 'blocked']) e;
grant select on private.status_transitions to service_role;

create or replace function public.next_status(p_from text, p_event text, p_explicit boolean default false)
returns text language sql stable set search_path = ''
as $$
  select case when p_from = 'deleted' then null
              when p_explicit then p_event
              else (select t.to_status from private.status_transitions t
                     where t.from_status = p_from and t.event = p_event) end
$$;

-- Replaced by the operations migration: incidents and alerts for a status change, in the same
-- transaction that records it.
create or replace function private.on_number_status_changed(
  p_number_id uuid, p_from text, p_to text, p_reason text, p_source text, p_at timestamptz)
returns void language sql set search_path = ''
as $$ select $$;

-- Record a connection report. Provider events are ordered against earlier provider events of the
-- same number only (never against our own writes): strictly when both times come from the same
-- clock, with 2 minutes of tolerance when one is the provider's and the other ours.
drop function if exists public.record_connection(uuid, text, text, integer, text, timestamptz, text, text);
create or replace function public.record_connection(
  p_number_id uuid, p_status text, p_raw_state text, p_reason_code integer, p_reason text,
  p_at timestamptz, p_source text, p_phone text default null, p_explicit boolean default false,
  p_clock text default 'receipt')
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_old public.numbers%rowtype;
  v_new text;
  v_stale boolean := false;
  v_changed boolean;
begin
  select * into v_old from public.numbers where id = p_number_id for update;
  if v_old.id is null then
    return '[]'::jsonb;
  end if;
  if not p_explicit and v_old.provider_event_at is not null then
    v_stale := p_at < v_old.provider_event_at - case when p_clock = v_old.provider_event_clock
                                                      then interval '0' else interval '2 minutes' end;
  end if;
  v_new := case when v_stale then null else public.next_status(v_old.status, p_status, p_explicit) end;
  v_changed := v_new is not null and v_new is distinct from v_old.status;

  if v_new is not null then
    update public.numbers
       set status = v_new,
           status_reason = case when v_changed or v_new = p_status then p_reason else status_reason end,
           provider_state = p_raw_state,
           provider_reason_code = p_reason_code,
           status_changed_at = case when v_changed then p_at else status_changed_at end,
           connected_at = case when v_new = 'active' and v_changed then p_at else connected_at end,
           disconnected_at = case when v_old.status = 'active' and v_changed then p_at else disconnected_at end,
           phone = coalesce(p_phone, phone),
           qr_code = case when v_new = 'active' then null else qr_code end,
           pairing_code = case when v_new = 'active' then null else pairing_code end,
           qr_expires_at = case when v_new = 'active' then null else qr_expires_at end,
           provider_event_at = case when p_explicit then provider_event_at else p_at end,
           provider_event_clock = case when p_explicit then provider_event_clock else p_clock end,
           updated_at = now()
     where id = p_number_id;
  elsif not v_stale and not p_explicit then
    update public.numbers set provider_event_at = p_at, provider_event_clock = p_clock where id = p_number_id;
  end if;

  if v_changed then
    insert into public.number_status_events (number_id, owner_id, from_status, to_status, changed, reason,
                                             provider_state, reason_code, source, occurred_at, last_seen_at)
    values (p_number_id, v_old.owner_id, v_old.status, v_new, true, p_reason, p_raw_state, p_reason_code,
            p_source, p_at, p_at);
    perform private.on_number_status_changed(p_number_id, v_old.status, v_new, p_reason, p_source, p_at);
  elsif v_new is not null then
    update public.number_status_events e
       set repeat_count = e.repeat_count + 1, last_seen_at = greatest(e.last_seen_at, p_at)
     where e.id = (select max(id) from public.number_status_events where number_id = p_number_id);
  end if;
  return jsonb_build_array(jsonb_build_object('from', v_old.status, 'to', coalesce(v_new, v_old.status),
                                              'event', p_status, 'changed', v_changed,
                                              'applied', v_new is not null, 'stale', v_stale,
                                              'reason', p_reason));
end $$;

-- The backend runs as `service_role` over the Data API, which has no privilege on auth.users (owned by
-- supabase_auth_admin; https://github.com/supabase/postgres, migrations/db/init-scripts/
-- 00000000000001-auth-schema.sql grants the API roles USAGE on the schema only). The two facts we need
-- from it are read by these SECURITY DEFINER functions, owned by the migration role.
create or replace function private.user_exists(p_user uuid)
returns boolean language sql stable security definer set search_path = ''
as $$ select exists (select 1 from auth.users where id = p_user) $$;

create or replace function private.user_email(p_user uuid)
returns text language sql stable security definer set search_path = ''
as $$ select email::text from auth.users where id = p_user $$;

revoke all on function private.user_exists(uuid), private.user_email(uuid) from public;

-- What a provider call for a number needs, with its instance token, as lib.providers.base.NumberRef
-- reads it (one copy for every function that hands a number to a provider call).
create or replace function private.number_ref(v public.numbers)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object('id', v.id, 'provider', v.provider, 'provider_instance_id', v.provider_instance_id,
                            'status', v.status, 'instance_data', v.instance_data,
                            'managed_instance', v.managed_instance,
                            'api_token', (select s.api_token from private.number_secrets s where s.number_id = v.id))
$$;
revoke all on function private.number_ref(public.numbers) from public;

-- 5. Creation: validated, quota-checked, race-safe per Idempotency-Key, secrets stored first -----
-- The providers a user may add (also GET /api/v1/providers): GREEN-API always; Evolution per
-- EVOLUTION_ROLLOUT ('all', or 'beta' for the users in private.provider_rollout).
create or replace function public.providers_enabled(p_owner uuid, p_rollout text)
returns jsonb language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'green-api', true,
    'evolution', p_rollout = 'all'
                 or (p_rollout = 'beta' and exists (select 1 from private.provider_rollout
                                                     where user_id = p_owner and provider = 'evolution')))
$$;
select private.backend_only('public.providers_enabled(uuid, text)');

drop function if exists public.begin_create_number(uuid, uuid, text, text, text, text, text, text);
create or replace function public.begin_create_number(
  p_number_id uuid, p_owner uuid, p_provider text, p_label text, p_phone text, p_rollout text,
  p_idempotency_key text, p_planned_instance_id text, p_request_hash text, p_api_token text,
  p_webhook_token text, p_max_live integer, p_max_per_hour integer, p_lease_seconds integer default 120)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
  s private.number_secrets%rowtype;
begin
  if not private.user_exists(p_owner) then
    raise exception 'unknown user' using errcode = 'WA401', hint = 'unknown_user';
  end if;
  if p_provider = 'evolution' and not (public.providers_enabled(p_owner, p_rollout) ->> 'evolution')::boolean then
    raise exception 'Evolution numbers are not enabled for this account' using errcode = 'WA403', hint = 'provider_not_enabled';
  end if;
  -- One creation at a time per user: the quota and the idempotency check cannot race.
  perform pg_advisory_xact_lock(hashtextextended('create:' || p_owner::text, 0));

  if p_idempotency_key is not null then
    select * into v from public.numbers where owner_id = p_owner and idempotency_key = p_idempotency_key;
    if v.id is not null then
      if v.create_request_hash is distinct from p_request_hash then
        raise exception 'this Idempotency-Key was used for another request' using errcode = 'WA409',
          hint = 'idempotency_key_reused';
      end if;
      if v.create_started_at is null then
        return public.number_json(v) || jsonb_build_object('replayed', true, 'resume', false);
      end if;
      if v.create_started_at > now() - make_interval(secs => p_lease_seconds) then
        raise exception 'a request with this Idempotency-Key is still in progress; retry in a moment'
          using errcode = 'WA409', hint = 'idempotency_key_in_progress';
      end if;
      -- The first attempt died mid-way: this one takes the creation over, with the same instance.
      update public.numbers set create_started_at = now() where id = v.id returning * into v;
      select * into s from private.number_secrets where number_id = v.id;
      return public.number_json(v) || jsonb_build_object('replayed', true, 'resume', true,
        'provider_instance_id', v.provider_instance_id, 'api_token', s.api_token);
    end if;
  end if;

  if (select count(*) from public.numbers where owner_id = p_owner and deleted_at is null) >= p_max_live then
    raise exception 'this account already has % numbers, the most it may have', p_max_live
      using errcode = 'WA403', hint = 'number_quota_exceeded';
  end if;
  if (select count(*) from public.numbers where owner_id = p_owner and created_at > now() - interval '1 hour')
       >= p_max_per_hour then
    raise exception 'too many numbers added in the last hour; try again later'
      using errcode = 'WA429', hint = 'rate_limited';
  end if;

  insert into public.numbers (id, owner_id, label, phone, provider, status, status_changed_at, idempotency_key,
                              provider_instance_id, create_started_at, create_request_hash)
  values (p_number_id, p_owner, coalesce(p_label, ''), p_phone, p_provider, 'pending', now(), p_idempotency_key,
          p_planned_instance_id, now(), p_request_hash)
  returning * into v;
  -- Stored before the provider is called: a provider that sends events during creation (Evolution
  -- does, inside POST /instance/create) is recognised by this token.
  insert into private.number_secrets (number_id, api_token, webhook_token)
  values (p_number_id, p_api_token, p_webhook_token);
  return public.number_json(v) || jsonb_build_object('replayed', false, 'resume', false);
end $$;

drop function if exists public.complete_create_number(uuid, text, jsonb, boolean, text, text, text, text, text, text, text, timestamptz);
create or replace function public.complete_create_number(
  p_number_id uuid, p_provider_instance_id text, p_instance_data jsonb, p_managed boolean,
  p_api_token text, p_webhook_token text, p_status text, p_raw_state text, p_reason text,
  p_qr_code text default null, p_pairing_code text default null, p_qr_expires_at timestamptz default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  update public.numbers
     set provider_instance_id = p_provider_instance_id,
         id_instance = case when provider = 'green-api' then p_provider_instance_id else id_instance end,
         api_url = case when provider = 'green-api' then coalesce(p_instance_data ->> 'apiUrl', api_url) else api_url end,
         instance_data = instance_data || coalesce(p_instance_data, '{}'::jsonb),
         managed_instance = p_managed,
         create_started_at = null,
         updated_at = now()
   where id = p_number_id and deleted_at is null
  returning * into v;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  insert into private.number_secrets (number_id, api_token, webhook_token)
  values (p_number_id, p_api_token, p_webhook_token)
  on conflict (number_id) do update set api_token = coalesce(excluded.api_token, number_secrets.api_token),
                                        webhook_token = coalesce(excluded.webhook_token, number_secrets.webhook_token),
                                        updated_at = now();
  -- Events the provider sent during creation may already have moved the number (to `active` when
  -- it was linked before): what we learnt from the create answer is applied as the user's action
  -- only while nothing newer arrived.
  if p_status = 'qr' then
    perform private.store_qr(p_number_id, p_qr_code, p_pairing_code, p_qr_expires_at, now(), 'api', v.status = 'pending');
  else
    perform public.record_connection(p_number_id, p_status, p_raw_state, null, p_reason, now(), 'api', null,
                                     v.status = 'pending');
  end if;
  select * into v from public.numbers where id = p_number_id;
  return public.number_json(v);
end $$;

create or replace function public.abandon_number(p_number_id uuid, p_reason text)
returns void language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  update public.numbers
     set deleted_at = now(), status = 'deleted', status_reason = p_reason, status_changed_at = now(),
         idempotency_key = null, create_started_at = null, updated_at = now()
   where id = p_number_id and deleted_at is null
  returning * into v;
  if v.id is not null then
    delete from private.number_secrets where number_id = p_number_id;
  end if;
end $$;

-- The one place a QR (or pairing code) is written, from the API's connect answer (save_qr) or a
-- provider's webhook (ingest_webhook): the status goes through the state machine first, and the code
-- is kept only while the number waits for a scan and only when it expires no earlier than the one
-- stored (a late webhook never replaces a fresher code). Returns record_connection's transition.
create or replace function private.store_qr(p_number_id uuid, p_qr_code text, p_pairing_code text,
  p_expires_at timestamptz, p_at timestamptz, p_source text, p_explicit boolean)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_transition jsonb;
begin
  v_transition := public.record_connection(p_number_id, 'qr', 'qrcode', null, 'waiting for the QR code to be scanned',
                                           p_at, p_source, null, p_explicit, 'receipt');
  update public.numbers
     set qr_code = p_qr_code, pairing_code = p_pairing_code, qr_expires_at = p_expires_at, updated_at = now()
   where id = p_number_id and deleted_at is null and status = 'qr'
     and (qr_expires_at is null or qr_expires_at <= p_expires_at);
  return v_transition;
end $$;

revoke all on function private.store_qr(uuid, text, text, timestamptz, timestamptz, text, boolean) from public;

-- A QR the user asked for (reconnect, or the onboarding poll) is an explicit action.
create or replace function public.save_qr(p_number_id uuid, p_qr_code text, p_pairing_code text, p_expires_at timestamptz)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  perform private.store_qr(p_number_id, p_qr_code, p_pairing_code, p_expires_at, now(), 'api', true);
  select * into v from public.numbers where id = p_number_id and deleted_at is null;
  return public.number_json(v);
end $$;

create or replace function public.delete_number(p_owner uuid, p_number_id uuid)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v public.numbers%rowtype;
begin
  select * into v from public.numbers where id = p_number_id and owner_id = p_owner;
  if v.id is null then
    raise exception 'no such number' using errcode = 'WA404', hint = 'number_not_found';
  end if;
  if v.deleted_at is null then
    insert into public.number_status_events (number_id, owner_id, from_status, to_status, changed, reason, source,
                                             occurred_at, last_seen_at)
    values (v.id, v.owner_id, v.status, 'deleted', true, 'deleted by its owner', 'api', now(), now());
    perform private.on_number_status_changed(v.id, v.status, 'deleted', 'deleted by its owner', 'api', now());
    update public.numbers
       set deleted_at = now(), status = 'deleted', status_reason = 'deleted by its owner', status_changed_at = now(),
           qr_code = null, pairing_code = null, qr_expires_at = null, create_started_at = null, updated_at = now()
     where id = v.id
    returning * into v;
    delete from private.number_secrets where number_id = v.id;
  end if;
  return public.number_json(v);
end $$;

-- Numbers whose creation never finished: the lease long expired, nothing completed it.
create or replace function public.stale_pending_numbers(p_provider text, p_older_than_seconds integer)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(private.number_ref(n)), '[]'::jsonb)
    from public.numbers n
   where n.provider = p_provider and n.deleted_at is null and n.create_started_at is not null
     and n.create_started_at < now() - make_interval(secs => p_older_than_seconds)
$$;

-- Which of these number ids still belong to a live number (orphan instances are named after ids).
-- It replaces live_instance_ids, which matched GREEN-API ids only and has no caller left.
drop function if exists public.live_instance_ids(text, jsonb);
create or replace function public.live_number_ids(p_number_ids jsonb)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce(jsonb_agg(id::text), '[]'::jsonb)
    from public.numbers
   where deleted_at is null
     and id in (select value::uuid from jsonb_array_elements_text(p_number_ids) value
                 where value ~ '^[0-9a-fA-F-]{36}$')
$$;

-- 6. Messages: an outcome nobody confirmed becomes `unknown`, never `pending` forever -----------
alter table public.messages drop constraint messages_status_check;
alter table public.messages add constraint messages_status_check
  check (status in ('pending', 'unknown', 'sent', 'delivered', 'read', 'failed', 'received')) not valid;

create or replace function public.message_status_rank(p_status text)
returns integer language sql immutable set search_path = ''
as $$
  select case p_status when 'pending' then 0 when 'unknown' then 1 when 'sent' then 2 when 'failed' then 3
                       when 'delivered' then 4 when 'read' then 5 else -1 end
$$;

create index messages_unconfirmed_idx on public.messages (chat_id, created_at)
  where provider_message_id is null and direction = 'outbound';

-- Sends the provider never confirmed (a timeout after the request left, or a crash between the
-- provider's answer and our record): after a while they are `unknown`, so the inbox says so.
create or replace function public.resolve_stale_sends(p_older_than_seconds integer)
returns integer language sql set search_path = ''
as $$
  with stale as (
    update public.messages m
       set status = 'unknown',
           status_reason = coalesce(m.extra #>> '{error,message}',
                                    'the provider never confirmed this message; check the chat before sending again'),
           updated_at = now()
     where m.direction = 'outbound' and m.provider_message_id is null and m.status = 'pending'
       and m.created_at < now() - make_interval(secs => p_older_than_seconds)
    returning 1)
  select count(*)::int from stale
$$;

-- 7. Dead letters: back-off, a bounded number of attempts, a final state, an index for the query -
alter table private.dead_letters
  add column state text not null default 'pending'
    check (state in ('pending', 'replayed', 'failed')),
  add column next_attempt_at timestamptz not null default now();
update private.dead_letters set state = 'replayed' where replayed_at is not null;
drop index if exists private.dead_letters_pending_idx;
create index dead_letters_due_idx on private.dead_letters (next_attempt_at) where state = 'pending';
create index dead_letters_due_reason_idx on private.dead_letters (reason, next_attempt_at) where state = 'pending';

-- Claims the letters due now (a lease of 5 minutes), so two runs never replay one letter at once.
drop function if exists public.dead_letters_due(integer, text);
create or replace function public.dead_letters_due(p_limit integer default 100, p_reason text default null)
returns jsonb language sql set search_path = ''
as $$
  with due as (
    select id from private.dead_letters
     where state = 'pending' and next_attempt_at <= now() and (p_reason is null or reason = p_reason)
     order by next_attempt_at, id
     limit greatest(1, least(p_limit, 1000))
     for update skip locked
  ), claimed as (
    update private.dead_letters d set next_attempt_at = now() + interval '5 minutes'
      from due where d.id = due.id
    returning d.*
  )
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'provider', provider, 'reason', reason,
                                               'event_type', event_type, 'instance', provider_instance_id,
                                               'number_id', number_id, 'payload', payload, 'attempts', attempts)
                            order by id), '[]'::jsonb)
    from claimed
$$;

drop function if exists public.finish_dead_letter(bigint, boolean, text);
create or replace function public.finish_dead_letter(p_id bigint, p_replayed boolean, p_error text default null,
                                                     p_final boolean default false, p_max_attempts integer default 8)
returns jsonb language sql set search_path = ''
as $$
  update private.dead_letters
     set attempts = attempts + 1,
         replayed_at = case when p_replayed then now() end,
         last_error = p_error,
         state = case when p_replayed then 'replayed'
                      when p_final or attempts + 1 >= p_max_attempts then 'failed'
                      else 'pending' end,
         -- 1, 2, 4 … minutes after each failed attempt, at most a day
         next_attempt_at = now() + least(interval '1 minute' * power(2, attempts), interval '1 day')
   where id = p_id
  returning jsonb_build_object('id', id, 'state', state, 'attempts', attempts, 'next_attempt_at', next_attempt_at)
$$;

-- 8. Least privilege: the API roles get nothing they do not need ---------------------------------
revoke all on all sequences in schema public from anon, authenticated, public;
alter default privileges in schema public revoke all on sequences from anon, authenticated, public;
revoke execute on all functions in schema public from anon, authenticated, public;
alter default privileges in schema public revoke execute on functions from anon, authenticated, public;
grant usage, select on all sequences in schema public to service_role;

select private.backend_only(
  'public.next_status(text, text, boolean)',
  'public.record_connection(uuid, text, text, integer, text, timestamptz, text, text, boolean, text)',
  'public.begin_create_number(uuid, uuid, text, text, text, text, text, text, text, text, text, integer, integer, integer)',
  'public.complete_create_number(uuid, text, jsonb, boolean, text, text, text, text, text, text, text, timestamptz)',
  'public.abandon_number(uuid, text)',
  'public.save_qr(uuid, text, text, timestamptz)',
  'public.delete_number(uuid, uuid)',
  'public.stale_pending_numbers(text, integer)',
  'public.live_number_ids(jsonb)',
  'public.message_status_rank(text)',
  'public.resolve_stale_sends(integer)',
  'public.dead_letters_due(integer, text)',
  'public.finish_dead_letter(bigint, boolean, text, boolean, integer)');

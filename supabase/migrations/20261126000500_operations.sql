-- Operations: probes, metrics, incidents and a durable alert outbox (README "Operations",
-- docs/runbook.md "Alerts").
--
-- * Metrics never add a round trip to the webhook path. Provider calls are aggregated in each
--   process and appended to private.metric_samples on a round trip the process makes anyway
--   (lib/db.py pipelines them with the next call); counts of messages, failures, delivery lag,
--   dead letters and authentication failures are derived by the health cron from the tables the
--   webhook path already writes. Nothing on the request path updates a shared counter row.
-- * Alerts are incidents (one open per rule and subject), recorded in the same transaction that
--   notices them, with their messages in private.alert_outbox; the crons deliver the outbox,
--   claiming rows with a lease so that a message is sent by one worker at a time.

-- 1. Tables --------------------------------------------------------------------------------------
create table private.monitor_settings (
  key text primary key,
  value double precision not null
);
insert into private.monitor_settings (key, value) values
  ('cooldown_seconds', 900), ('server_down_after_seconds', 300), ('error_rate', 0.10),
  ('error_window_seconds', 300), ('min_calls', 20), ('auth_failures', 20), ('auth_window_seconds', 300),
  ('phone_unseen_days', 10);

create table private.monitor_cursors (
  name text primary key,
  value text,
  updated_at timestamptz not null default now()
);

create table private.monitor_probes (
  id bigint generated always as identity primary key,
  target text not null,
  checked_at timestamptz not null default now(),
  ok boolean not null,
  latency_ms double precision,
  version text,
  error text
);
create index monitor_probes_target_idx on private.monitor_probes (target, checked_at desc);

-- Per-number monitoring state: when the health cron and keepalive last looked, what they saw.
create table private.number_monitor (
  number_id uuid primary key references public.numbers (id) on delete cascade,
  probed_at timestamptz,
  probe_state text,
  keepalive_at timestamptz,
  keepalive_result text
);

-- Append-only, one row per process flush; rolled into private.metrics by the health cron.
create table private.metric_samples (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  provider text not null,
  metric text not null,
  count bigint not null,
  total double precision not null default 0,
  hist bigint[]
);

-- Rolled-up series: per minute for 14 days, per hour for 90 (private.monitor_rollup).
-- `hist` counts observations per bucket of lib/monitor/recorder.py BUCKETS_MS (+Inf last).
create table private.metrics (
  res text not null check (res in ('minute', 'hour')),
  bucket timestamptz not null,
  provider text not null,
  metric text not null,
  count bigint not null,
  total double precision not null default 0,
  hist bigint[],
  primary key (res, bucket, provider, metric)
);

create table private.webhook_auth_failures (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  provider text not null,
  reason text not null,
  source text
);
create index webhook_auth_failures_at_idx on private.webhook_auth_failures (at);

create table private.incidents (
  id bigint generated always as identity primary key,
  rule text not null,
  subject text not null,
  title text not null,
  details jsonb not null default '{}'::jsonb,
  opened_at timestamptz not null default now(),
  resolved_at timestamptz
);
create unique index incidents_open_key on private.incidents (rule, subject) where resolved_at is null;
create index incidents_recent_idx on private.incidents (opened_at desc);

-- The flap guard: at most one message per rule and subject per cooldown; what was held back is
-- summarised by the health cron once the cooldown is over and the state differs from the last message.
create table private.alert_cooldowns (
  rule text not null,
  subject text not null,
  last_sent_at timestamptz not null,
  last_state text not null,
  suppressed integer not null default 0,
  primary key (rule, subject)
);

create table private.alert_outbox (
  id bigint generated always as identity primary key,
  channel text not null check (channel in ('email', 'slack')),
  incident_id bigint references private.incidents (id) on delete set null,
  rule text not null,
  subject text not null,
  kind text not null,  -- opened, resolved, summary, warning
  title text not null,
  body text not null,
  created_at timestamptz not null default now(),
  state text not null default 'pending' check (state in ('pending', 'sent', 'unconfigured')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_token uuid,
  lease_until timestamptz,
  sent_at timestamptz,
  last_error text
);
create index alert_outbox_due_idx on private.alert_outbox (next_attempt_at) where state = 'pending';
create index alert_outbox_recent_idx on private.alert_outbox (created_at desc);

grant select, insert, update, delete on all tables in schema private to service_role;
grant usage, select on all sequences in schema private to service_role;

-- What the rollup reads on the tables the webhook path writes (no trigger on that path).
create index if not exists messages_created_at_idx on public.messages (created_at);
create index if not exists messages_failed_at_idx on public.messages (status_updated_at) where status = 'failed';
create index if not exists messages_phone_sent_idx on public.messages (number_id, sent_at)
  where from_me_source = 'phone';
create index if not exists dead_letters_created_at_idx on private.dead_letters (created_at);

-- 2. Helpers ---------------------------------------------------------------------------------------
create or replace function private.setting(p_key text, p_default double precision)
returns double precision language sql stable set search_path = ''
as $$
  select coalesce((select value from private.monitor_settings where key = p_key), p_default)
$$;

create or replace function private.hist_add(a bigint[], b bigint[])
returns bigint[] language sql immutable set search_path = ''
as $$
  select case when a is null then b when b is null then a else
    (select array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) order by i)
       from generate_series(1, greatest(cardinality(a), cardinality(b))) i) end
$$;

create aggregate private.hist_sum(bigint[]) (sfunc = private.hist_add, stype = bigint[]);

-- The histogram of a set of millisecond values, in the buckets of lib/monitor/recorder.py.
create or replace function private.ms_bucket(p_ms double precision)
returns integer language sql immutable set search_path = ''
as $$
  select coalesce((select min(i) from unnest(array[5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
                                                    60000, 300000]::double precision[]) with ordinality b(le, i)
                    where p_ms <= b.le), 15)::integer
$$;

create or replace function private.ms_hist(p_values double precision[])
returns bigint[] language sql immutable set search_path = ''
as $$
  select array_agg(coalesce(c.n, 0) order by g.i)
    from generate_series(1, 15) g(i)
    left join (select private.ms_bucket(v) as i, count(*) as n from unnest(p_values) v group by 1) c on c.i = g.i
$$;

-- Queue one message. Inside the caller's transaction: recorded with what detected it, or not at all.
create or replace function private.enqueue_alert(
  p_channel text, p_incident_id bigint, p_rule text, p_subject text, p_kind text, p_title text, p_body text)
returns void language sql set search_path = ''
as $$
  insert into private.alert_outbox (channel, incident_id, rule, subject, kind, title, body)
  values (p_channel, p_incident_id, p_rule, p_subject, p_kind, p_title, p_body)
$$;

-- Open the incident of (rule, subject) unless one is open; returns its id and whether it is new.
create or replace function private.open_incident(p_rule text, p_subject text, p_title text, p_details jsonb,
                                                 out id bigint, out opened boolean)
language plpgsql set search_path = ''
as $$
begin
  insert into private.incidents (rule, subject, title, details)
  values (p_rule, p_subject, p_title, coalesce(p_details, '{}'::jsonb))
  on conflict (rule, subject) where resolved_at is null do nothing
  returning incidents.id into id;
  opened := id is not null;
  if not opened then
    select i.id into id from private.incidents i where i.rule = p_rule and i.subject = p_subject and i.resolved_at is null;
  end if;
end $$;

create or replace function private.resolve_incident(p_rule text, p_subject text)
returns private.incidents language sql set search_path = ''
as $$
  update private.incidents set resolved_at = now()
   where rule = p_rule and subject = p_subject and resolved_at is null
  returning *
$$;

-- A message subject to the per-subject cooldown: sent now, or counted as held back.
-- p_always: sent even inside the cooldown (a recovery after an announced failure is always told).
create or replace function private.notify_with_cooldown(
  p_channel text, p_incident_id bigint, p_rule text, p_subject text, p_kind text, p_state text,
  p_title text, p_body text, p_always boolean default false)
returns boolean language plpgsql set search_path = ''
as $$
declare
  v_row private.alert_cooldowns%rowtype;
  v_cooldown double precision := private.setting('cooldown_seconds', 900);
begin
  select * into v_row from private.alert_cooldowns where rule = p_rule and subject = p_subject for update;
  if v_row.rule is not null and v_row.last_sent_at > now() - make_interval(secs => v_cooldown)
     and not (p_always and v_row.last_state is distinct from p_state) then
    update private.alert_cooldowns set suppressed = suppressed + 1 where rule = p_rule and subject = p_subject;
    return false;
  end if;
  insert into private.alert_cooldowns (rule, subject, last_sent_at, last_state, suppressed)
  values (p_rule, p_subject, now(), p_state, 0)
  on conflict (rule, subject) do update set last_sent_at = now(), last_state = p_state, suppressed = 0;
  perform private.enqueue_alert(p_channel, p_incident_id, p_rule, p_subject, p_kind, p_title, p_body);
  return true;
end $$;

-- 3. A number's status changed (called by the number state machine in the same transaction) --------
create or replace function private.number_alert_text(p_number_id uuid, p_to text, p_reason text, p_provider_label boolean default true)
returns text language sql stable set search_path = ''
as $$
  select format('%s (%s) on %s — %s%s. Owner: %s. Number id %s.',
                coalesce(nullif(n.label, ''), 'unlabelled number'), coalesce(n.phone, 'phone unknown'), n.provider,
                p_to, coalesce(' — ' || p_reason, ''), coalesce(private.user_email(n.owner_id), n.owner_id::text), n.id)
    from public.numbers n
   where n.id = p_number_id
$$;

create or replace function private.on_number_status_changed(
  p_number_id uuid, p_from text, p_to text, p_reason text, p_source text, p_at timestamptz)
returns void language plpgsql set search_path = ''
as $$
declare
  v_incident record;
  v_resolved private.incidents%rowtype;
  v_subject text := p_number_id::text;
  v_text text;
begin
  if p_from = 'active' and p_to in ('disconnected', 'logged_out', 'blocked') then
    v_text := private.number_alert_text(p_number_id, p_to, p_reason);
    select * into v_incident from private.open_incident('number_left_active', v_subject,
      'Number left active: ' || p_to, jsonb_build_object('from', p_from, 'to', p_to, 'reason', p_reason,
                                                         'source', p_source, 'at', p_at));
    perform private.notify_with_cooldown('slack', v_incident.id, 'number_left_active', v_subject, 'opened', 'down',
      ':red_circle: Number left active', v_text || format(' Noticed by %s at %s.', p_source,
                                                          to_char(p_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')));
  elsif p_to = 'active' then
    v_resolved := private.resolve_incident('number_left_active', v_subject);
    if v_resolved.id is not null then
      perform private.notify_with_cooldown('slack', v_resolved.id, 'number_left_active', v_subject, 'resolved', 'up',
        ':large_green_circle: Number active again',
        private.number_alert_text(p_number_id, 'active', null)
          || format(' It was down for %s.', date_trunc('second', now() - v_resolved.opened_at)));
    end if;
  elsif p_to = 'deleted' then
    perform private.resolve_incident('number_left_active', v_subject);
  end if;
end $$;

-- 4. Recording -------------------------------------------------------------------------------------
-- Samples from a process (lib/monitor/recorder.py drain()). Never raises: metrics must not fail
-- the call they ride along with.
create or replace function public.record_metric_samples(p_samples jsonb)
returns integer language plpgsql set search_path = ''
as $$
declare
  v_rows integer;
begin
  insert into private.metric_samples (at, provider, metric, count, total, hist)
  select to_timestamp((s ->> 'minute')::double precision), s ->> 'provider', s ->> 'metric',
         (s ->> 'count')::bigint, coalesce((s ->> 'total')::double precision, 0),
         case when s ? 'hist' and jsonb_typeof(s -> 'hist') = 'array'
              then array(select jsonb_array_elements_text(s -> 'hist')::bigint) end
    from jsonb_array_elements(p_samples) s;
  get diagnostics v_rows = row_count;
  return v_rows;
exception when others then
  raise warning 'record_metric_samples dropped samples: %', sqlerrm;
  return 0;
end $$;

create or replace function public.record_webhook_auth_failure(p_provider text, p_reason text, p_source text)
returns void language sql set search_path = ''
as $$
  insert into private.webhook_auth_failures (provider, reason, source) values (p_provider, p_reason, left(p_source, 100))
$$;

-- Answers the version now on record (the fresh one, or the last one known): the detailed health
-- check reports it without reading it back.
create or replace function public.record_probe(p_target text, p_ok boolean, p_latency_ms double precision,
                                               p_version text, p_error text)
returns text language sql set search_path = ''
as $$
  insert into private.monitor_probes (target, ok, latency_ms, version, error)
  values (p_target, p_ok, p_latency_ms,
          coalesce(p_version, (select version from private.monitor_probes
                                where target = p_target and version is not null order by checked_at desc limit 1)),
          p_error)
  returning version
$$;

-- The last version the server reported and when: the version comes from `GET /`, which is not
-- cheap on Evolution, so it is asked at most once a day.
create or replace function public.probe_version(p_target text)
returns jsonb language sql stable set search_path = ''
as $$
  select coalesce((select jsonb_build_object('version', version, 'at', checked_at) from private.monitor_probes
                    where target = p_target and version is not null order by checked_at desc limit 1), '{}'::jsonb)
$$;

-- 5. The health cron's batch of numbers -------------------------------------------------------------
-- The next `p_limit` live numbers after the cursor (wrapping around), with what it takes to call
-- their provider. The cursor moves now: a run that dies half-way does not stall the rotation.
create or replace function public.monitor_next_batch(p_name text, p_limit integer, p_statuses jsonb default null,
                                                     p_due_before timestamptz default null)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_after uuid;
  v_rows jsonb;
  v_last uuid;
begin
  insert into private.monitor_cursors (name, value) values (p_name, null) on conflict (name) do nothing;
  select nullif(value, '')::uuid into v_after from private.monitor_cursors where name = p_name for update;
  with pick as (
    select n.id from public.numbers n left join private.number_monitor m on m.number_id = n.id
     where n.deleted_at is null and n.provider_instance_id is not null
       and n.status not in ('pending', 'deleted')
       and (p_statuses is null or p_statuses ? n.status)
       and (p_due_before is null or m.keepalive_at is null or m.keepalive_at < p_due_before)
       and (v_after is null or n.id > v_after)
     order by n.id limit greatest(1, least(p_limit, 2000))
  )
  select jsonb_agg(private.number_ref(n) || jsonb_build_object('phone', n.phone, 'label', n.label,
                                                              'connected_at', n.connected_at) order by n.id),
         max(n.id::text)::uuid
    into v_rows, v_last
    from pick join public.numbers n on n.id = pick.id;
  -- Fewer than asked: the end of the table; the next run starts from the beginning.
  update private.monitor_cursors
     set value = case when coalesce(jsonb_array_length(v_rows), 0) < p_limit then null else v_last::text end,
         updated_at = now()
   where name = p_name;
  return coalesce(v_rows, '[]'::jsonb);
end $$;

-- What the probes saw: a state that differs from ours goes through the number state machine
-- (record_connection, source `health`), so the number's alerts follow.
create or replace function public.monitor_record_states(p_results jsonb)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  r jsonb;
  v_changed integer := 0;
  v_current text;
begin
  for r in select value from jsonb_array_elements(p_results) loop
    insert into private.number_monitor as m (number_id, probed_at, probe_state)
    values ((r ->> 'number_id')::uuid, now(), coalesce(r ->> 'status', r ->> 'error'))
    on conflict (number_id) do update set probed_at = excluded.probed_at, probe_state = excluded.probe_state;
    if r ->> 'status' is null then
      continue;
    end if;
    select status into v_current from public.numbers where id = (r ->> 'number_id')::uuid and deleted_at is null;
    if v_current is not null and v_current is distinct from r ->> 'status'
       and not (r ->> 'status' = 'connecting' and v_current in ('qr', 'pending')) then
      perform public.record_connection((r ->> 'number_id')::uuid, r ->> 'status', r ->> 'raw_state',
                                       (r ->> 'reason_code')::integer, r ->> 'reason', now(), 'health', null);
      v_changed := v_changed + 1;
    end if;
  end loop;
  return jsonb_build_object('recorded', jsonb_array_length(p_results), 'changed', v_changed);
end $$;

-- 6. Keepalive and the phone-unseen warning -------------------------------------------------------
create or replace function public.keepalive_record(p_results jsonb)
returns jsonb language sql set search_path = ''
as $$
  insert into private.number_monitor as m (number_id, keepalive_at, keepalive_result)
  select (r ->> 'number_id')::uuid, now(), r ->> 'result' from jsonb_array_elements(p_results) r
  on conflict (number_id) do update set keepalive_at = excluded.keepalive_at, keepalive_result = excluded.keepalive_result;
  select jsonb_build_object('recorded', jsonb_array_length(p_results))
$$;

-- A linked device is logged out when the primary phone is not used for over 14 days (WhatsApp FAQ,
-- "About linked devices", https://faq.whatsapp.com/378279804439436). "Seen" is the later of the
-- last link (connected_at) and the last message typed on the phone; from `phone_unseen_days` (10)
-- an active number gets one warning, resolved when the phone is seen again. Database only: it runs
-- with every health cron.
create or replace function private.evaluate_phone_unseen()
returns integer language plpgsql set search_path = ''
as $$
declare
  v_days double precision := private.setting('phone_unseen_days', 10);
  v_warned integer := 0;
  r record;
  v_inc record;
begin
  for r in
    select n.id, greatest(n.connected_at, p.last_phone) as seen
      from public.numbers n
      left join lateral (select max(m.sent_at) as last_phone from public.messages m
                          where m.number_id = n.id and m.from_me_source = 'phone') p on true
     where n.deleted_at is null and n.status = 'active'
       and greatest(n.connected_at, p.last_phone) < now() - make_interval(secs => v_days * 86400)
       and not exists (select 1 from private.incidents i where i.rule = 'phone_unseen' and i.subject = n.id::text
                                                           and i.resolved_at is null)
  loop
    select * into v_inc from private.open_incident('phone_unseen', r.id::text, 'Phone not seen',
                                                   jsonb_build_object('seen_at', r.seen));
    perform private.enqueue_alert('slack', v_inc.id, 'phone_unseen', r.id::text, 'warning',
      ':warning: Phone not seen for ' || floor(extract(epoch from now() - r.seen) / 86400) || ' days',
      private.number_alert_text(r.id, 'active', 'the phone was last seen '
                                || to_char(r.seen at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'))
      || ' WhatsApp logs linked devices out after about 14 days without the phone: ask the owner to open'
      || ' WhatsApp on the phone (https://faq.whatsapp.com/378279804439436).');
    v_warned := v_warned + 1;
  end loop;
  -- Seen again (or no longer active): the warning is over.
  update private.incidents i set resolved_at = now()
    from public.numbers n
   where i.rule = 'phone_unseen' and i.resolved_at is null and n.id::text = i.subject
     and (n.status <> 'active' or n.deleted_at is not null or greatest(n.connected_at,
          (select max(m.sent_at) from public.messages m where m.number_id = n.id and m.from_me_source = 'phone'))
          >= now() - make_interval(secs => v_days * 86400));
  return v_warned;
end $$;

-- 7. Rollup and retention (health cron) ---------------------------------------------------------------
create or replace function public.monitor_rollup(p_now timestamptz default now())
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_from timestamptz := date_trunc('minute', p_now) - interval '10 minutes';
  v_samples integer;
begin
  if not pg_try_advisory_xact_lock(hashtext('monitor_rollup')) then
    return jsonb_build_object('skipped', 'another rollup is running');
  end if;
  -- Samples from processes: added to their minute.
  with moved as (delete from private.metric_samples returning *)
  insert into private.metrics as t (res, bucket, provider, metric, count, total, hist)
  select 'minute', date_trunc('minute', at), provider, metric, sum(count), sum(total), private.hist_sum(hist)
    from moved group by 2, 3, 4
  on conflict (res, bucket, provider, metric) do update
    set count = t.count + excluded.count, total = t.total + excluded.total,
        hist = private.hist_add(t.hist, excluded.hist);
  get diagnostics v_samples = row_count;

  -- Derived from the tables the webhook path writes: recomputed for the last 10 minutes (idempotent).
  delete from private.metrics where res = 'minute' and bucket >= v_from
     and metric in ('messages_received', 'messages_sent', 'messages_failed', 'delivery_lag_ms', 'dead_letters',
                    'auth_failures');
  insert into private.metrics (res, bucket, provider, metric, count, total, hist)
  select 'minute', date_trunc('minute', m.created_at), n.provider, 'messages_received', count(*), 0::double precision, null::bigint[]
    from public.messages m join public.numbers n on n.id = m.number_id
   where m.created_at >= v_from and m.direction = 'inbound' group by 2, 3
  union all
  select 'minute', date_trunc('minute', m.created_at), n.provider, 'messages_sent', count(*), 0, null
    from public.messages m join public.numbers n on n.id = m.number_id
   where m.created_at >= v_from and m.direction = 'outbound' group by 2, 3
  union all
  select 'minute', date_trunc('minute', m.status_updated_at), n.provider, 'messages_failed', count(*), 0, null
    from public.messages m join public.numbers n on n.id = m.number_id
   where m.status = 'failed' and m.status_updated_at >= v_from group by 2, 3
  union all
  select 'minute', date_trunc('minute', m.created_at), n.provider, 'delivery_lag_ms', count(*),
         sum(greatest(0, extract(epoch from m.created_at - m.sent_at) * 1000))::double precision,
         private.ms_hist(array_agg(greatest(0, extract(epoch from m.created_at - m.sent_at) * 1000)::double precision))
    from public.messages m join public.numbers n on n.id = m.number_id
   where m.created_at >= v_from and m.direction = 'inbound' and m.sent_at is not null group by 2, 3
  union all
  select 'minute', date_trunc('minute', created_at), provider, 'dead_letters', count(*), 0, null
    from private.dead_letters where created_at >= v_from group by 2, 3
  union all
  select 'minute', date_trunc('minute', at), provider, 'auth_failures', count(*), 0, null
    from private.webhook_auth_failures where at >= v_from group by 2, 3;

  -- Hours: the current and the previous hour recomputed from their minutes.
  delete from private.metrics where res = 'hour' and bucket >= date_trunc('hour', v_from) - interval '1 hour';
  insert into private.metrics (res, bucket, provider, metric, count, total, hist)
  select 'hour', date_trunc('hour', bucket), provider, metric, sum(count), sum(total), private.hist_sum(hist)
    from private.metrics
   where res = 'minute' and bucket >= date_trunc('hour', v_from) - interval '1 hour'
   group by 2, 3, 4;

  -- Retention.
  delete from private.metrics where res = 'minute' and bucket < p_now - interval '14 days';
  delete from private.metrics where res = 'hour' and bucket < p_now - interval '90 days';
  delete from private.monitor_probes where checked_at < p_now - interval '14 days';
  delete from private.webhook_auth_failures where at < p_now - interval '14 days';
  delete from private.alert_outbox where state <> 'pending' and created_at < p_now - interval '90 days';
  delete from private.incidents where resolved_at < p_now - interval '180 days';
  return jsonb_build_object('sample_groups', v_samples);
end $$;

-- 8. Alert rules (health cron) --------------------------------------------------------------------------
create or replace function private.rule_open_or_resolve(p_rule text, p_subject text, p_firing boolean,
                                                        p_title text, p_body text, p_resolved_title text,
                                                        p_resolved_body text, p_details jsonb)
returns text language plpgsql set search_path = ''
as $$
declare
  v_inc record;
  v_resolved private.incidents%rowtype;
begin
  if p_firing then
    select * into v_inc from private.open_incident(p_rule, p_subject, p_title, p_details);
    if v_inc.opened then
      perform private.notify_with_cooldown('email', v_inc.id, p_rule, p_subject, 'opened', 'down', p_title, p_body);
      return 'opened';
    end if;
    return 'open';
  end if;
  v_resolved := private.resolve_incident(p_rule, p_subject);
  if v_resolved.id is not null then
    perform private.notify_with_cooldown('email', v_resolved.id, p_rule, p_subject, 'resolved', 'up', p_resolved_title,
      p_resolved_body || format(' The incident lasted %s.', date_trunc('second', now() - v_resolved.opened_at)), true);
    return 'resolved';
  end if;
  return 'ok';
end $$;

-- p_settings: the thresholds from the environment (lib/config.py, "Operations"); kept for the
-- hook above, which has no environment.
create or replace function public.monitor_evaluate(p_settings jsonb default '{}'::jsonb)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_out jsonb := '{}'::jsonb;
  v_key text;
  v_val jsonb;
  v_last private.monitor_probes%rowtype;
  v_since timestamptz;
  v_down_after double precision;
  v_rate double precision;
  v_window double precision;
  v_min double precision;
  v_auth double precision;
  v_auth_window double precision;
  r record;
  v_cause text;
  v_cooldown double precision;
  v_state text;
begin
  for v_key, v_val in select key, value from jsonb_each(coalesce(p_settings, '{}'::jsonb)) loop
    insert into private.monitor_settings (key, value) values (v_key, (v_val #>> '{}')::double precision)
    on conflict (key) do update set value = excluded.value;
  end loop;
  v_down_after := private.setting('server_down_after_seconds', 300);
  v_rate := private.setting('error_rate', 0.10);
  v_window := private.setting('error_window_seconds', 300);
  v_min := private.setting('min_calls', 20);
  v_auth := private.setting('auth_failures', 20);
  v_auth_window := private.setting('auth_window_seconds', 300);
  v_cooldown := private.setting('cooldown_seconds', 900);

  -- Evolution server down: every probe since the last success failed, the first of them longer ago
  -- than the threshold.
  select * into v_last from private.monitor_probes where target = 'evolution' order by checked_at desc limit 1;
  if v_last.id is not null then
    select min(checked_at) into v_since from private.monitor_probes
     where target = 'evolution' and not ok
       and checked_at > coalesce((select max(checked_at) from private.monitor_probes where target = 'evolution' and ok),
                                 '-infinity');
    v_out := v_out || jsonb_build_object('server_down', private.rule_open_or_resolve(
      'server_down', 'evolution',
      not v_last.ok and v_since <= now() - make_interval(secs => v_down_after),
      'Evolution server unreachable',
      format('The Evolution server has not answered since %s (%s s; last error: %s). Messages on Evolution numbers '
             || 'are not being sent or received. Runbook: "Evolution server unreachable".',
             to_char(v_since at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'),
             floor(extract(epoch from now() - v_since)), coalesce(v_last.error, 'unknown')),
      'Evolution server reachable again',
      format('The Evolution server answers again (%s ms).', round(coalesce(v_last.latency_ms, 0)::numeric, 1)),
      jsonb_build_object('since', v_since, 'error', v_last.error)));
  end if;

  -- Provider error rate over the window.
  for r in
    select p.provider,
           coalesce(sum(m.count) filter (where m.metric = 'provider_calls'), 0) as calls,
           coalesce(sum(m.count) filter (where m.metric = 'provider_errors'), 0) as errs
      from (values ('evolution'), ('green-api')) p(provider)
      left join private.metrics m on m.provider = p.provider and m.res = 'minute'
            and m.bucket >= date_trunc('minute', now() - make_interval(secs => v_window))
            and m.metric in ('provider_calls', 'provider_errors')
     group by p.provider
  loop
    if r.calls >= v_min then  -- too few calls: neither opened nor resolved (no evidence either way)
      v_out := v_out || jsonb_build_object('error_rate:' || r.provider, private.rule_open_or_resolve(
        'error_rate', r.provider, r.errs::double precision / r.calls > v_rate,
        format('%s error rate %s%%', r.provider, round(100.0 * r.errs / r.calls, 1)),
        format('%s of %s calls to %s failed over the last %s s (threshold %s%%). Runbook: "Provider error rate".',
               r.errs, r.calls, r.provider, v_window, round((v_rate * 100)::numeric, 1)),
        format('%s error rate back to normal', r.provider),
        format('%s of %s calls to %s failed over the last %s s.', r.errs, r.calls, r.provider, v_window),
        jsonb_build_object('calls', r.calls, 'errors', r.errs)));
    end if;
  end loop;

  -- Webhook authentication failures, counted in the database.
  for r in
    select p.provider, count(f.id) as n, count(distinct f.source) as sources,
           coalesce(jsonb_object_agg(f.reason, 1) filter (where f.reason is not null), '{}'::jsonb) as reasons,
           count(*) filter (where f.reason in ('bad_signature', 'bad_token', 'expired', 'too_old', 'apikey_mismatch')) as stale
      from (values ('evolution'), ('green-api')) p(provider)
      left join private.webhook_auth_failures f on f.provider = p.provider
            and f.at >= now() - make_interval(secs => v_auth_window)
     group by p.provider
  loop
    v_cause := case
      when r.n > 0 and r.stale * 2 >= r.n and r.sources <= 3 then
        'Likely a secret rotation: the sender presents a credential signed with a secret we no longer accept ('
        || case when r.provider = 'evolution' then 'EVOLUTION_WEBHOOK_SECRET / _PREVIOUS' else 'WEBHOOK_TOKEN_SECRET / _PREVIOUS' end
        || '). Run resync-webhooks, or set the _PREVIOUS variable to the old secret.'
      else 'Likely a stranger probing the webhook URL: many sources or requests without valid credentials.' end;
    v_out := v_out || jsonb_build_object('auth_failures:' || r.provider, private.rule_open_or_resolve(
      'auth_failures', r.provider, r.n >= v_auth,
      format('%s webhook authentication failures', r.provider),
      format('%s %s webhooks failed authentication in the last %s s from %s source(s); reasons: %s. %s '
             || 'Runbook: "Webhook authentication failures".',
             r.n, r.provider, v_auth_window, r.sources,
             (select string_agg(k, ', ') from jsonb_object_keys(r.reasons) k), v_cause),
      format('%s webhook authentication failures stopped', r.provider),
      format('%s failures in the last %s s, under the threshold of %s.', r.n, v_auth_window, v_auth),
      jsonb_build_object('count', r.n, 'sources', r.sources, 'reasons', r.reasons)));
  end loop;

  v_out := v_out || jsonb_build_object('phone_unseen_warned', private.evaluate_phone_unseen());

  -- Messages held back by the cooldown (a flapping number, server or rate): once it is over, one
  -- summary when the state is not the one the last message announced.
  for r in
    select c.*, n.status, n.id as number_id,
           exists (select 1 from private.incidents i where i.rule = c.rule and i.subject = c.subject
                                                      and i.resolved_at is null) as is_open
      from private.alert_cooldowns c
      left join public.numbers n on c.rule = 'number_left_active' and n.id::text = c.subject
     where c.suppressed > 0 and c.last_sent_at <= now() - make_interval(secs => v_cooldown)
     for update of c
  loop
    v_state := case when r.rule = 'number_left_active' then case when r.status = 'active' then 'up' else 'down' end
                    when r.is_open then 'down' else 'up' end;
    if v_state <> r.last_state and r.rule = 'number_left_active' then
      perform private.enqueue_alert('slack', null, r.rule, r.subject, 'summary',
        case when v_state = 'up' then ':large_green_circle: Number active again after flapping'
             else ':red_circle: Number still not active after flapping' end,
        private.number_alert_text(r.number_id, r.status, null)
          || format(' It changed state %s more times during the %s s cooldown.', r.suppressed, v_cooldown));
    elsif v_state <> r.last_state then
      perform private.enqueue_alert('email', null, r.rule, r.subject, 'summary',
        format('%s %s: %s after flapping', r.rule, r.subject, case when v_state = 'up' then 'recovered' else 'failing' end),
        format('The %s alert for %s changed state %s more times during the %s s cooldown; it is now %s. '
               || 'See /api/status and the runbook.', r.rule, r.subject, r.suppressed, v_cooldown,
               case when v_state = 'up' then 'resolved' else 'open' end));
    end if;
    update private.alert_cooldowns
       set suppressed = 0,
           last_sent_at = case when v_state <> r.last_state then now() else last_sent_at end,
           last_state = v_state
     where rule = r.rule and subject = r.subject;
  end loop;
  return v_out;
end $$;

-- 9. Outbox delivery ----------------------------------------------------------------------------------
-- Claim due messages with a lease: `for update skip locked` keeps two concurrent crons off the same
-- row; the lease keeps a second worker off it while the first is sending.
create or replace function public.alert_outbox_claim(p_limit integer, p_lease_seconds integer default 120)
returns jsonb language sql set search_path = ''
as $$
  with due as (
    select id from private.alert_outbox
     where state = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
     order by id limit greatest(1, least(p_limit, 500))
     for update skip locked
  ), claimed as (
    update private.alert_outbox o
       set lease_token = gen_random_uuid(), lease_until = now() + make_interval(secs => p_lease_seconds),
           attempts = attempts + 1
      from due where o.id = due.id
    returning o.*
  )
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'lease', lease_token, 'channel', channel, 'rule', rule,
                                               'subject', subject, 'kind', kind, 'title', title, 'body', body,
                                               'attempts', attempts, 'created_at', created_at) order by id),
                  '[]'::jsonb)
    from claimed
$$;

-- The outcome of one delivery: sent, unconfigured (recorded and logged only), or failed (retried:
-- the next run, then 1, 2, 4 ... minutes, at most an hour apart). Only the lease holder may finish.
create or replace function public.alert_outbox_finish(p_id bigint, p_lease uuid, p_outcome text, p_error text default null)
returns boolean language sql set search_path = ''
as $$
  update private.alert_outbox
     set state = case p_outcome when 'sent' then 'sent' when 'unconfigured' then 'unconfigured' else 'pending' end,
         sent_at = case when p_outcome = 'sent' then now() end,
         last_error = left(p_error, 500),
         next_attempt_at = case when p_outcome = 'failed'
                                then now() + make_interval(secs => case when attempts <= 1 then 0
                                                                        else least(3600, 60 * power(2, attempts - 2)) end)
                                else next_attempt_at end,
         lease_token = null, lease_until = null
   where id = p_id and lease_token = p_lease
  returning true
$$;

-- 10. What the metrics endpoint and the status page show -------------------------------------------------
-- With p_rollup, the minutes are rolled up first, so a scrape between two health runs is current.
create or replace function public.monitor_report(p_hours integer default 24, p_rollup boolean default true)
returns jsonb language plpgsql set search_path = ''
as $$
begin
  if p_rollup then
    perform public.monitor_rollup();
  end if;
  return jsonb_build_object(
    'now', now(),
    'evolution', (select jsonb_build_object('ok', ok, 'checked_at', checked_at, 'latency_ms', latency_ms,
                                            'version', version, 'error', error,
                                            'down_since', (select min(checked_at) from private.monitor_probes f
                                                            where f.target = 'evolution' and not f.ok
                                                              and f.checked_at > coalesce((select max(checked_at) from private.monitor_probes s
                                                                                            where s.target = 'evolution' and s.ok), '-infinity')))
                    from private.monitor_probes where target = 'evolution' order by checked_at desc limit 1),
    'probes', coalesce((select jsonb_agg(jsonb_build_array(extract(epoch from checked_at), ok, latency_ms) order by checked_at)
                          from private.monitor_probes where target = 'evolution'
                           and checked_at >= now() - make_interval(hours => p_hours)), '[]'::jsonb),
    'numbers', coalesce((select jsonb_object_agg(provider, by_status) from (
                  select provider, jsonb_object_agg(status, n) as by_status from (
                    select provider, status, count(*) as n from public.numbers where deleted_at is null
                     group by provider, status) c group by provider) p), '{}'::jsonb),
    'series', coalesce((select jsonb_agg(jsonb_build_object('t', extract(epoch from bucket), 'provider', provider,
                                                            'metric', metric, 'count', count, 'total', total, 'hist', hist)
                                         order by bucket)
                          from private.metrics
                         where res = 'hour' and bucket >= date_trunc('hour', now() - make_interval(hours => p_hours))), '[]'::jsonb),
    'last_minutes', coalesce((select jsonb_agg(jsonb_build_object('provider', provider, 'metric', metric,
                                                                  'count', count, 'total', total, 'hist', hist))
                                from (select provider, metric, sum(count) as count, sum(total) as total,
                                             private.hist_sum(hist) as hist
                                        from private.metrics
                                       where res = 'minute' and bucket >= date_trunc('minute', now()) - interval '5 minutes'
                                       group by provider, metric) w), '[]'::jsonb),
    'totals', coalesce((select jsonb_agg(jsonb_build_object('provider', provider, 'metric', metric,
                                                            'count', count, 'total', total, 'hist', hist))
                          from (select provider, metric, sum(count) as count, sum(total) as total,
                                       private.hist_sum(hist) as hist
                                  from private.metrics where res = 'hour' group by provider, metric) w), '[]'::jsonb),
    'incidents', coalesce((select jsonb_agg(jsonb_build_object('id', id, 'rule', rule, 'subject', subject,
                                                               'title', title, 'opened_at', opened_at) order by opened_at desc)
                             from (select * from private.incidents where resolved_at is null
                                    order by opened_at desc limit 100) i), '[]'::jsonb),
    'alerts', coalesce((select jsonb_agg(jsonb_build_object('id', id, 'channel', channel, 'rule', rule, 'kind', kind,
                                                            'title', title, 'state', state, 'attempts', attempts,
                                                            'created_at', created_at, 'sent_at', sent_at,
                                                            'last_error', last_error) order by id desc)
                          from (select * from private.alert_outbox order by id desc limit 20) a), '[]'::jsonb),
    'outbox_pending', (select count(*) from private.alert_outbox where state = 'pending'),
    'auth_failures_last_hour', coalesce((select jsonb_object_agg(provider, n) from (
        select provider, count(*) as n from private.webhook_auth_failures
         where at >= now() - interval '1 hour' group by provider) f), '{}'::jsonb)
  );
end $$;

-- The health check's figures in one read: provider_health (our numbers by status, each live
-- number's instance) and the provider's webhook authentication failures of the last hour (counted
-- here: every function is its own process).
create or replace function public.provider_health_report(p_provider text)
returns jsonb language sql stable set search_path = ''
as $$
  select public.provider_health(p_provider) || jsonb_build_object(
    'auth_failures_last_hour', (select count(*) from private.webhook_auth_failures
                                 where provider = p_provider and at >= now() - interval '1 hour'))
$$;

select private.backend_only(
  'public.record_metric_samples(jsonb)',
  'public.record_webhook_auth_failure(text, text, text)',
  'public.record_probe(text, boolean, double precision, text, text)',
  'public.probe_version(text)',
  'public.monitor_next_batch(text, integer, jsonb, timestamptz)',
  'public.monitor_record_states(jsonb)',
  'public.keepalive_record(jsonb)',
  'public.monitor_rollup(timestamptz)',
  'public.monitor_evaluate(jsonb)',
  'public.alert_outbox_claim(integer, integer)',
  'public.alert_outbox_finish(bigint, uuid, text, text)',
  'public.monitor_report(integer, boolean)',
  'public.provider_health_report(text)');

revoke all on function private.on_number_status_changed(uuid, text, text, text, text, timestamptz) from public;

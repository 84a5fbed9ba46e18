-- Recovery after an outage, found by the job itself: once the health cron has resolved a `server_down`
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

select private.backend_only('public.history_due(integer)');

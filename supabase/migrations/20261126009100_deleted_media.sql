-- A message deleted for everyone hides its media too: the API answers 404 for it (as for its text),
-- and the media sweep no longer fetches it. media_due and media_get from 20261126000600_media.sql,
-- unchanged but for `deleted_at is null`.

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
                     where media_state = 'pending' and media_next_attempt_at <= p_now and deleted_at is null
                       and (media_lease_until is null or media_lease_until < now())
                     order by media_next_attempt_at limit p_limit
                       for update skip locked)
    returning m.id)
  select array_agg(id) into v_ids from claimed;
  return private.media_jobs(coalesce(v_ids, '{}'));
end $$;


create or replace function public.media_get(p_owner uuid, p_message_id uuid, p_claim boolean default true,
                                            p_lease_seconds integer default 60)
returns jsonb language plpgsql set search_path = ''
as $$
declare
  v_msg public.messages%rowtype;
  v_claimed boolean := false;
begin
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

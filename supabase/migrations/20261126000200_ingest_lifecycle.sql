-- Ingestion, revised for the lifecycle: the state machine decides connection changes; events of a
-- deleted number are dropped (not dead-lettered); a send whose outcome was unknown is matched by
-- its webhook; and two races are closed with transaction-scoped advisory locks:
--   * a status and its message: both paths lock (number, provider message id), so a status that
--     arrives while its message is being inserted or completed is applied, never stranded in
--     private.pending_statuses;
--   * folding a LID-only chat into the phone chat: both paths lock (number, LID), so a message
--     committed concurrently into the LID chat is moved, never removed with it.
-- The helpers live here; ingest_webhook, resolve_chat, complete_send and apply_message_status are defined once,
-- as they stand, in 20261126009000_ingest_fast.sql (one copy, not one per change).

-- The lock helpers are PL/pgSQL, not SQL: a SQL-language function called from PL/pgSQL is parsed and
-- planned again in every transaction before PostgreSQL 18, whose release notes add plan caching for
-- SQL-language functions (https://www.postgresql.org/docs/18/release-18.html); a PL/pgSQL one once
-- per session.
-- Measured on ingest_webhook with one message, the two alternating in one run: 382-412 µs of backend
-- CPU per call with SQL helpers, 342-382 µs with PL/pgSQL ones.
create or replace function private.lock_message(p_number_id uuid, p_provider_message_id text)
returns void language plpgsql set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended(p_number_id::text || '/m/' || p_provider_message_id, 0));
end $$;

create or replace function private.lock_lid(p_number_id uuid, p_lid text)
returns void language plpgsql set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtextextended(p_number_id::text || '/lid/' || p_lid, 0));
end $$;

-- A status that arrived before its message is applied once the message carries the id.
create or replace function private.drain_pending_status(p_number_id uuid, p_provider_message_id text)
returns void language plpgsql set search_path = ''
as $$
declare
  v private.pending_statuses%rowtype;
begin
  delete from private.pending_statuses
   where number_id = p_number_id and provider_message_id = p_provider_message_id
  returning * into v;
  if v.status is not null then
    perform public.apply_message_status(p_number_id, p_provider_message_id, v.status, v.reason, v.occurred_at);
  end if;
end $$;

-- The chat's preview and last time: only ever moved forward in time.
create or replace function private.touch_chat(p_chat_id uuid, p_at timestamptz, p_preview text)
returns void language sql set search_path = ''
as $$
  update public.chats
     set last_message_at = p_at, last_message_preview = left(p_preview, 200), updated_at = now()
   where id = p_chat_id and (last_message_at is null or last_message_at <= p_at)
$$;


-- An outbound message the provider reports as sent through the API, which our own send could not
-- confirm (outcome unknown): the webhook completes that row instead of adding a second one.
create or replace function private.claim_unconfirmed_send(p_chat_id uuid, p_provider_message_id text,
                                                          p_type text, p_body text, p_at timestamptz)
returns uuid language sql set search_path = ''
as $$
  update public.messages m
     set provider_message_id = p_provider_message_id,
         status = case when public.message_status_rank(m.status) > public.message_status_rank('sent')
                       then m.status else 'sent' end,
         status_reason = null, sent_at = p_at, updated_at = now()
   where m.id = (select u.id from public.messages u
                  where u.chat_id = p_chat_id and u.provider_message_id is null and u.direction = 'outbound'
                    and u.status in ('pending', 'unknown') and u.extra #>> '{error,code}' = 'outcome_unknown'
                    and u.type = p_type and u.body is not distinct from p_body
                    and u.created_at > now() - interval '1 hour'
                  order by u.created_at limit 1 for update skip locked)
  returning m.id
$$;

revoke all on function private.lock_message(uuid, text), private.lock_lid(uuid, text),
  private.drain_pending_status(uuid, text), private.touch_chat(uuid, timestamptz, text),
  private.claim_unconfirmed_send(uuid, text, text, text, timestamptz),
  private.on_number_status_changed(uuid, text, text, text, text, timestamptz) from public;

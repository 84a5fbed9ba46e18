-- The provider's echo of a message we sent through the API (Evolution `send.message`, GREEN-API
-- `outgoingAPIMessageReceived`, `from_me_source = 'api'`) is folded into our own row by complete_send,
-- and its file is already ours (an upload) or was a URL we were given: fetching it again would cost a
-- provider call and leave an orphan object. Only media the provider delivered to us (or that was sent
-- from the phone) starts 'pending'.
drop trigger messages_media_pending on public.messages;
create trigger messages_media_pending before insert on public.messages
  for each row when (new.media_state is null and new.idempotency_key is null
                     and new.from_me_source is distinct from 'api'
                     and new.type in ('image', 'video', 'audio', 'voice', 'document', 'sticker'))
  execute function private.media_pending_on_insert();

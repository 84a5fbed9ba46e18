-- Files sent from an upload are the inbox's media too: the outbound message points at the uploaded
-- object (state 'stored'), so GET /api/v1/messages/{id}/media serves what the agent sent, exactly as
-- for inbound media. lib/messaging.py passes `upload:<upload id>` as prepare_send's media URL; this
-- trigger resolves it inside prepare_send's own insert (no extra round trip), for the same owner only,
-- and never leaves the marker in `media_url`.
create or replace function private.media_from_upload()
returns trigger language plpgsql set search_path = ''
as $$
declare
  v_upload private.media_uploads%rowtype;
begin
  select * into v_upload from private.media_uploads
   where id = substr(new.media_url, 8)::uuid and owner_id = new.owner_id;
  new.media_url := null;
  if v_upload.id is not null then
    new.media_state := 'stored';
    new.media_object_key := v_upload.object_key;
    new.media_mime_type := coalesce(new.media_mime_type, v_upload.content_type);
    new.media_file_name := coalesce(new.media_file_name, v_upload.file_name);
    new.media_stored_at := now();
  end if;
  return new;
end $$;

create trigger messages_media_from_upload before insert on public.messages
  for each row when (new.media_url like 'upload:%')
  execute function private.media_from_upload();

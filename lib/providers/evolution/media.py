"""Evolution media: fetching the bytes of a message it delivered, and sending voice notes.

Read from EvolutionAPI/evolution-api at 2.3.6:
- `src/api/routes/chat.router.ts`: `POST /chat/getBase64FromMediaMessage/{instance}` answers 201;
- `src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts` `getBase64FromMediaMessage`:
  the body is `{message: {key: {id}}, convertToMp4?}`; the message is looked up in Evolution's
  database by `key.id` alone; the answer is `{mediaType, fileName, caption, size, mimetype, base64,
  buffer: null}`; any failure is a 400 (BadRequestException) with the reason;
- the webhook's `data.message.mediaUrl` exists only when the server stores media in S3/MinIO
  (S3_ENABLED) and is a presigned link; our server kit turns that off, so it is tried first when
  present and the base64 route is the fallback;
- `src/api/routes/sendMessage.router.ts` + `audioWhatsapp`: `POST /message/sendWhatsAppAudio/{instance}`
  `{number, audio}` (URL or base64) is converted to Ogg/Opus and sent with `ptt: true` — a voice note,
  where `sendMedia` with `mediatype: audio` sends a plain audio file.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from lib.errors import PayloadTooLarge, ProviderError
from lib.providers.base import MediaBytes, MediaMessage, MediaSpec, NumberRef, SentMessage
from lib.providers.download import download

if TYPE_CHECKING:
    from lib.providers.evolution.provider import EvolutionProvider


def fetch(provider: EvolutionProvider, ref: NumberRef, message: MediaMessage) -> MediaBytes:
    if message.url:
        try:
            got = download(message.url, message.max_bytes, provider.name)
            return MediaBytes(got.data, message.mime_type or got.mime_type, message.file_name)
        except ProviderError:  # (a file over the limit is PayloadTooLarge, not a ProviderError: it propagates)
            pass  # the S3 link expired or is unreachable: Evolution can still decrypt the message itself
    name = provider._instance(ref)
    body = provider._call("get_media", "POST", f"/chat/getBase64FromMediaMessage/{name}", ref.api_token,
                          json={"message": {"key": {"id": message.provider_message_id}}, "convertToMp4": False},
                          instance=name)
    return _decode(body, message, provider.name)


def _decode(body: Any, message: MediaMessage, provider: str) -> MediaBytes:
    encoded = body.get("base64") if isinstance(body, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise ProviderError("Evolution returned no media bytes", provider=provider)
    if len(encoded) * 3 // 4 > message.max_bytes + 3:
        raise PayloadTooLarge(f"the file exceeds the limit of {message.max_bytes} bytes", code="media_too_large")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError("Evolution returned media that is not base64", provider=provider) from None
    mime = body.get("mimetype") if isinstance(body.get("mimetype"), str) else None
    name = body.get("fileName") if isinstance(body.get("fileName"), str) else None
    return MediaBytes(data, mime or message.mime_type, message.file_name or name)


def send_voice(provider: EvolutionProvider, ref: NumberRef, number: str, media: MediaSpec,
               quoted: dict[str, Any]) -> SentMessage:
    name = provider._instance(ref)
    body = provider._call("send_voice", "POST", f"/message/sendWhatsAppAudio/{name}", ref.api_token,
                          instance=name, json={"number": number, "audio": media.url, **quoted}, sending=True)
    return provider._sent(body)

"""GREEN-API media: fetching the bytes of a message it delivered, and sending voice notes.

- Incoming files arrive with `fileMessageData.downloadUrl`, a storage link that expires
  (https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/ImageMessage/).
  `{{SWE002}}` instead of a link means the file is over 100 MB and will never be available; other
  `{{SWE00x}}` markers mean WhatsApp could not deliver or decrypt it yet.
- When the link is missing or has expired, `POST {apiUrl}/waInstance{id}/downloadFile/{token}`
  `{"chatId", "idMessage"}` answers `{"downloadUrl"}`, a fresh link
  (https://green-api.com/en/docs/api/receiving/files/DownloadFile/).
- Voice notes: GREEN-API has no voice method; `sendFileByUrl` decides the kind by the file name's
  extension and sends audio "as in native-mode WhatsApp"
  (https://green-api.com/en/docs/api/sending/SendFileByUrl/), so an Ogg/Opus file named `*.ogg`
  goes out as a playable voice message. Captions apply to images and videos only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import ProviderError, ProviderRejected
from lib.providers.base import MediaBytes, MediaMessage, MediaSpec, NumberRef, SentMessage
from lib.providers.download import LinkExpired, download

if TYPE_CHECKING:
    from lib.providers.greenapi.provider import GreenApiProvider

NEVER_AVAILABLE = {"{{SWE002}}": "the file is over WhatsApp's 100 MB limit and was not delivered"}


def fetch(provider: GreenApiProvider, ref: NumberRef, message: MediaMessage) -> MediaBytes:
    if message.provider_marker in NEVER_AVAILABLE:
        raise ProviderRejected(NEVER_AVAILABLE[message.provider_marker], code="media_unavailable",
                               provider=provider.name)
    if message.url:
        try:
            return _named(download(message.url, message.max_bytes, provider.name), message)
        except LinkExpired:
            pass  # ask for a fresh link below
    body = provider._instance_call(ref, "download_file", "POST", "downloadFile",
                                   {"chatId": message.chat_id, "idMessage": message.provider_message_id})
    url = body.get("downloadUrl") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ProviderError("GREEN-API gave no download link for the file", provider=provider.name)
    return _named(download(url, message.max_bytes, provider.name), message)


def _named(got: MediaBytes, message: MediaMessage) -> MediaBytes:
    # The notification's mimeType is the file's own; storage links often answer application/octet-stream.
    return MediaBytes(got.data, message.mime_type or got.mime_type, message.file_name)


def send_voice(provider: GreenApiProvider, ref: NumberRef, chat_id: str, media: MediaSpec,
               quoted_id: str | None) -> SentMessage:
    name = media.file_name or "voice"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    payload: dict[str, Any] = {"chatId": chat_id, "urlFile": media.url, "fileName": f"{stem}.ogg"}
    if quoted_id:
        payload["quotedMessageId"] = quoted_id
    return provider._sent(provider._instance_call(ref, "send_file_by_url", "POST", "sendFileByUrl", payload,
                                                  sending=True))

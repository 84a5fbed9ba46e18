"""The Evolution simulator's media: inbound media with real bytes (lib/sim/media_samples.py), served
through POST /chat/getBase64FromMediaMessage/{instance}, and voice notes sent through
POST /message/sendWhatsAppAudio/{instance} (EvolutionAPI/evolution-api 2.3.6, src/api/routes)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from lib.sim.evolution_state import Instance, _err


class MediaRoutes:
    """Mixed into EvolutionSimulator (which provides `instances`, `lock` and `_emit`)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        # What these routes keep (set here, not on first use: the server answers on many threads).
        self.media: dict[tuple[str, str], Any] = {}
        super().__init__(*args, **kw)

    # -- media (lib/sim/media_samples.py supplies real bytes) -------------------------------------------
    def inject_media(self, name: str, remote_jid: str, kind: str = "image", caption: str | None = None,
                     message_id: str | None = None, media_url: str | None = None) -> str:
        """An inbound image (PNG), voice note (Ogg/Opus, ptt), audio or document (PDF). The webhook
        carries no bytes (`base64` off, no S3), as with our server kit; getBase64FromMediaMessage serves them.
        `media_url`: a server with S3_ENABLED adds `message.mediaUrl`, a presigned link to its S3 copy."""
        import base64  # noqa: PLC0415
        import hashlib  # noqa: PLC0415

        from lib.sim.media_samples import sample  # noqa: PLC0415

        inst = self.instances[name]
        media = sample(kind)
        mid = message_id or "3A" + secrets.token_hex(9).upper()
        content: dict[str, Any] = {
            "url": f"https://mmg.whatsapp.net/o1/v/t62.7118-24/{secrets.token_hex(8)}.enc", "mimetype": media.mime_type,
            "fileSha256": base64.b64encode(hashlib.sha256(media.data).digest()).decode(),
            "fileLength": str(len(media.data)), "mediaKey": base64.b64encode(secrets.token_bytes(32)).decode(),
            "directPath": f"/o1/v/t62.7118-24/{secrets.token_hex(8)}", "mediaKeyTimestamp": str(int(time.time()))}
        if kind == "voice":
            content.update(ptt=True, seconds=1)
        elif kind == "audio":
            content.update(ptt=False, seconds=1)
        if kind == "document":
            content.update(fileName=media.file_name, title=media.file_name, pageCount=1)
        if caption and kind in ("image", "document"):
            content["caption"] = caption
        message_type = f"{media.kind}Message"
        data = {"key": {"remoteJid": remote_jid, "fromMe": False, "id": mid, "addressingMode": "pn"},
                "pushName": "Maria", "status": "DELIVERY_ACK",
                "message": {message_type: content, **({"mediaUrl": media_url} if media_url else {})},
                "messageType": message_type, "messageTimestamp": int(time.time()), "instanceId": inst.id,
                "source": "ios"}
        with self.lock:
            self.media[(inst.name, mid)] = (media, data)
        self._emit(inst, "messages.upsert", data)
        return mid

    def _media_routes(self):
        return {("POST", "chat", "getBase64FromMediaMessage"): self._get_base64,
                ("POST", "message", "sendWhatsAppAudio"): self._send_audio}

    def _get_base64(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        # whatsapp.baileys.service.ts getBase64FromMediaMessage (2.3.6): looked up by key.id in the
        # instance's stored messages; failures are BadRequestException → 400.
        import base64  # noqa: PLC0415

        key_id = ((body.get("message") or {}).get("key") or {}).get("id")
        with self.lock:
            found = self.media.get((inst.name, key_id))
        if found is None:
            raise _err(400, ["Message not found"])
        media, data = found
        content = data["message"][data["messageType"]]
        return 201, {"mediaType": data["messageType"], "fileName": content.get("fileName") or f"{key_id}.bin",
                     "caption": content.get("caption"),
                     "size": {"fileLength": content["fileLength"], "height": None, "width": None},
                     "mimetype": media.mime_type, "base64": base64.b64encode(media.data).decode(), "buffer": None}

    def _send_audio(self, inst: Instance, query: dict[str, str], body: dict[str, Any]):
        # sendWhatsAppAudio: `audio` (URL or base64) becomes an Ogg/Opus voice note, `ptt: true`.
        if not body.get("audio"):
            raise _err(400, ["File buffer, URL, or base64 audio is required"])
        if not body.get("number"):
            raise _err(400, [["instance requires property \"number\""]])
        if inst.state != "open":
            raise _err(500, "Connection Closed")
        number = str(body["number"])
        data = {"key": {"remoteJid": number if "@" in number else f"{number}@s.whatsapp.net", "fromMe": True,
                        "id": "3EB0" + secrets.token_hex(9).upper()},
                "pushName": "Você", "status": "PENDING",
                "message": {"audioMessage": {"url": "https://mmg.whatsapp.net/x.enc", "ptt": True,
                                             "mimetype": "audio/ogg; codecs=opus", "seconds": 1}},
                "messageType": "audioMessage", "messageTimestamp": int(time.time()), "instanceId": inst.id,
                "source": "web"}
        with self.lock:
            inst.sent.append({**data, "request": body})
        self._emit(inst, "send.message", data)
        return 201, data

"""lib/events.py: what the SQL ingest function receives for a normalized event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from lib import events


def test_an_event_travels_as_json_with_utc_times_nested_media_and_no_nulls():
    event = events.MessageEvent(
        provider_message_id="ABC", chat_id="5511999990002@c.us", direction="inbound", type="image",
        timestamp=datetime(2026, 11, 26, 7, 0, tzinfo=timezone(timedelta(hours=-3))),
        media=events.Media(url="https://cdn.example/x.jpg", mime_type="image/jpeg"),
        extra={"mentions": ["5511@c.us"], "gone": None})
    sent = events.to_json(event)
    assert sent["timestamp"] == datetime(2026, 11, 26, 10, 0, tzinfo=UTC).isoformat()
    assert sent["media"] == {"url": "https://cdn.example/x.jpg", "mime_type": "image/jpeg"}
    assert sent["extra"] == {"mentions": ["5511@c.us"]}
    assert "text" not in sent and sent["kind"] == "message"
    sent["extra"]["mentions"].append("changed")
    assert event.extra["mentions"] == ["5511@c.us"], "the event itself is not shared with what is sent"

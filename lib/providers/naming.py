"""How the instances we create are named after their number: `inbox-<number id>`. The name makes a
retried create find its instance and lets the sync job recognise an orphan (a name whose number
is gone), on both providers (Evolution's instance name; GREEN-API's partner `name`)."""

from __future__ import annotations

import uuid

PREFIX = "inbox-"


def instance_name(number_id: str) -> str:
    return PREFIX + number_id


def number_id_of(name: str | None) -> str | None:
    """The number id an instance of ours was named after; None for any other name."""
    if not name or not name.startswith(PREFIX):
        return None
    try:
        return str(uuid.UUID(name.removeprefix(PREFIX)))
    except ValueError:
        return None


def digits(value: str | None) -> str | None:
    """The digits of a phone number or JID user part; None when there are none."""
    found = "".join(ch for ch in value or "" if ch.isdigit())
    return found or None

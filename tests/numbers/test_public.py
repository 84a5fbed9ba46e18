"""What a number shows through the API."""

from __future__ import annotations

from lib import numbers
from lib.schemas import responses


def test_a_public_number_has_the_documented_fields_and_no_secret():
    row = {name: f"value of {name}" for name in responses.NumberOut.model_fields}
    row.update(api_token="instance-token-secret", webhook_token="webhook-secret", instance_data={"jwt": "x"},
               owner_id="someone", managed_instance=True)
    shown = numbers.public_number(row)
    assert set(shown) == set(responses.NumberOut.model_fields)
    assert "secret" not in repr(shown) and "someone" not in repr(shown)

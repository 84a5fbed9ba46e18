"""What a number shows through the API."""

from __future__ import annotations

from lib import numbers, schemas


def test_a_public_number_has_the_documented_fields_and_no_secret():
    row = {name: f"value of {name}" for name in schemas.NumberOut.model_fields}
    row.update(api_token="instance-token-secret", webhook_token="webhook-secret", instance_data={"jwt": "x"},
               owner_id="someone", managed_instance=True)
    shown = numbers.public_number(row)
    assert set(shown) == set(schemas.NumberOut.model_fields)
    assert "secret" not in repr(shown) and "someone" not in repr(shown)

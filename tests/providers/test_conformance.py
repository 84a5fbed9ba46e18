"""Every registered provider fulfils the contract; missing capabilities raise NotSupported."""

from __future__ import annotations

import inspect

import pytest

from lib import errors, providers
from lib.providers.base import NumberRef, Provider

CONTRACT = ["create_instance", "connect", "connection_state", "restart", "logout", "delete", "send_text",
            "send_media", "list_instances", "verify_webhook", "normalize_webhook", "webhook_instance",
            "planned_instance_id", "configure_webhook", "server_info"]


@pytest.mark.parametrize("name", providers.names())
def test_every_provider_implements_the_contract(name):
    p = providers.provider(name)
    assert isinstance(p, Provider) and p.name == name
    for method in CONTRACT:
        ours = inspect.signature(getattr(type(p), method))
        base = inspect.signature(getattr(Provider, method))
        assert list(ours.parameters) == list(base.parameters), f"{name}.{method} drifted from the contract"
    assert not inspect.isabstract(type(p))


@pytest.mark.parametrize("name", providers.names())
def test_get_provider_picks_by_the_numbers_provider(name):
    assert providers.get_provider({"provider": name}).name == name
    assert providers.get_provider(NumberRef("n", name, None)).name == name


def test_an_unknown_provider_is_a_clear_error():
    with pytest.raises(errors.InvalidRequest) as info:
        providers.provider("twilio")
    assert info.value.code == "unknown_provider"


def test_capabilities_a_provider_lacks_raise_not_supported():
    p = providers.provider("green-api")
    with pytest.raises(errors.NotSupported) as info:
        p.list_instances()  # no partner token in this environment
    assert info.value.status == 422
    with pytest.raises(errors.NotSupported):
        p.server_info()

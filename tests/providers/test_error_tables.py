"""The providers' error tables: every row is reachable (no earlier row shadows it), and the error
bodies seen on the real services map as documented (the one place these bodies are tested; the
client tests pin request shapes)."""

from __future__ import annotations

import pytest

from lib import errors
from lib.providers.error_table import Rule, server_failure
from lib.providers.evolution import errors as evo
from lib.providers.greenapi import errors as green


def probe(rule: Rule) -> tuple[int, str, bool]:
    """An input aimed at exactly this row."""
    status = min(rule.statuses) if rule.statuses else 200
    text = rule.patterns[0] if rule.patterns else "nothing any row looks for"
    return status, text, bool(rule.sending)


CASES = [("evolution", i, rule) for i, rule in enumerate(evo.TABLE)] + \
        [("green-api", i, rule) for i, rule in enumerate(green.TABLE)]


@pytest.mark.parametrize(("provider", "row", "rule"), CASES, ids=[f"{p}-{i}" for p, i, _ in CASES])
def test_every_row_is_reachable(provider, row, rule):
    status, text, sending = probe(rule)
    if provider == "evolution":
        err = evo.to_error(status, {"response": {"message": [text]}}, sending=sending)
    else:
        err = green.to_error(status, text, sending=sending)
    assert type(err) is rule.error and err.code == (rule.code or rule.error.code), (row, err)


# Bodies as the real services answer them (EvolutionAPI/evolution-api 2.3.6 observed on a local server;
# GREEN-API's documented error texts, https://green-api.com/en/docs/api/common-errors/).
EVOLUTION_BODIES = [
    (401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, False,
     errors.ProviderAuthError, "provider_auth_failed"),
    (404, {"status": 404, "error": "Not Found", "response": {"message": ['The "x" instance does not exist']}}, False,
     errors.InstanceNotFound, "instance_not_found"),
    (400, {"status": 400, "error": "Bad Request", "response": {"message": [['instance requires property "text"']]}},
     True, errors.ProviderRejected, "invalid_request"),
    (500, {"status": 500, "error": "Internal Server Error", "response": {"message": "Connection Closed"}}, True,
     errors.NumberDisconnected, "number_disconnected"),
    (400, {"status": 400, "error": "Bad Request", "response": {"message": ["Error: Connection Closed"]}}, True,
     errors.NumberDisconnected, "number_disconnected"),
    (500, {"status": 500, "response": {"message": ["Error: getaddrinfo ENOTFOUND cdn.example.com"]}}, True,
     errors.ProviderRejected, "media_unreachable"),
    (500, {"status": 500, "response": {"message": "Cannot read properties of undefined (reading 'onWhatsApp')"}},
     True, errors.NumberDisconnected, "number_disconnected"),
    (400, {"response": {"message": "[object Object]"}}, False, errors.NumberDisconnected, "number_disconnected"),
    (400, {"status": 400, "response": {"message": [{"jid": "1@s.whatsapp.net", "exists": False, "number": "1"}]}},
     True, errors.ProviderRejected, "not_on_whatsapp"),
    (500, {"status": 500, "response": {"message": "Cannot read properties of undefined (reading 'textMessage')"}},
     True, errors.NumberDisconnected, "number_disconnected"),
    (404, {"status": 404, "error": "Not Found", "response": {"message": ["Cannot POST /x"]}}, False,
     errors.ProviderRejected, "invalid_request"),
    (429, "Too Many Requests", False, errors.RateLimited, "rate_limited"),
    (500, "<html>oops</html>", False, errors.ProviderUnavailable, "provider_unreachable"),
    (500, {"status": 500, "response": {"message": "something else"}}, True, errors.OutcomeUnknown, "outcome_unknown"),
    (500, {"status": 500, "response": {"message": "something else"}}, False, errors.ProviderUnavailable,
     "provider_unreachable"),
]
GREEN_BODIES = [
    (400, "instance account not authorized", True, errors.NumberDisconnected, "number_disconnected"),
    (400, "instance is starting or not authorized", False, errors.NumberDisconnected, "number_disconnected"),
    (400, "instance in starting process try later", False, errors.ProviderUnavailable, "provider_unreachable"),
    (400, "Instance account is expired. Renew your instance from personal area", False, errors.ProviderAuthError,
     "provider_auth_failed"),
    (400, "Instance is deleted", False, errors.InstanceNotFound, "instance_not_found"),
    (400, "Bad Request Validation failed", True, errors.ProviderRejected, "invalid_request"),
    (401, "Unauthorized", False, errors.ProviderAuthError, "provider_auth_failed"),
    (403, "Forbidden", False, errors.InstanceNotFound, "instance_not_found"),
    (429, "Too Many Requests", True, errors.RateLimited, "rate_limited"),
    (466, {"correspondentsStatus": {"description": "quota of 3 chats used"}}, True, errors.RateLimited, "rate_limited"),
    (500, "File from url exceeded max upload size. Size: 120mb Limit: 100mb Url: x", True, errors.ProviderRejected,
     "invalid_request"),
    (499, "Client Closed Request", False, errors.ProviderUnavailable, "provider_unreachable"),
    (502, "Bad Gateway", True, errors.OutcomeUnknown, "outcome_unknown"),
    (502, "Bad Gateway", False, errors.ProviderUnavailable, "provider_unreachable"),
    (500, "Internal Server Error", True, errors.OutcomeUnknown, "outcome_unknown"),
]


@pytest.mark.parametrize(("status", "body", "sending", "cls", "code"), EVOLUTION_BODIES)
def test_real_evolution_bodies(status, body, sending, cls, code):
    err = evo.to_error(status, body, sending=sending)
    assert (type(err), err.code, err.provider) == (cls, code, "evolution")


@pytest.mark.parametrize(("status", "body", "sending", "cls", "code"), GREEN_BODIES)
def test_real_green_api_bodies(status, body, sending, cls, code):
    err = green.to_error(status, body, sending=sending)
    assert (type(err), err.code, err.provider) == (cls, code, "green-api")


def test_only_server_sickness_counts_against_the_breaker():
    assert not server_failure(evo.to_error(500, {"response": {"message": "Connection Closed"}}, sending=True))
    assert not server_failure(green.to_error(500, "exceeded max upload size", sending=True))
    assert server_failure(evo.to_error(500, {"response": {"message": "TypeError: x"}}, sending=False))
    assert server_failure(green.to_error(500, "Internal Server Error", sending=True))

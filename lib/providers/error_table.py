"""Provider error answers → our typed errors, as data: each provider keeps one table of `Rule`s,
and `to_error` applies it. The first matching row wins; a table ends in catch-all rows.

One rule is shared by every provider and lives here only: a server error (5xx) while *sending*
means the message may or may not have gone out (`OutcomeUnknown`), unless a row of the
provider's table recognised the error as one where nothing was sent.

The breaker (lib.resilience) asks `server_failure`: only answers that mean the provider's server
is sick count against it — never an error about one instance or one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib import errors


@dataclass(frozen=True)
class Rule:
    """A row: statuses (None: any), substrings of the error text (None: any; matched lower-cased),
    the error, its message (`{text}` and `{status}` are filled in), its code (None: the class's),
    and `sending`: True for sends only, False for everything but sends, None for both."""

    statuses: frozenset[int] | None
    patterns: tuple[str, ...] | None
    error: type[errors.ProviderError]
    message: str
    code: str | None = None
    sending: bool | None = None

    def matches(self, status: int, low_text: str, sending: bool) -> bool:
        return ((self.statuses is None or status in self.statuses)
                and (self.patterns is None or any(p in low_text for p in self.patterns))
                and (self.sending is None or self.sending == sending))


SERVER_ERRORS = frozenset(range(500, 600))
# What only the server's sickness causes: the breaker counts these (and transport errors).
SICK = (errors.ProviderUnavailable, errors.OutcomeUnknown)


def shared_tail(provider: str) -> tuple[Rule, ...]:
    """The rows every table ends with."""
    return (
        Rule(SERVER_ERRORS, None, errors.OutcomeUnknown,
             f"{provider} failed while sending ({{status}}); the message may or may not have gone out — check the "
             "chat before sending again", sending=True),
        Rule(SERVER_ERRORS, None, errors.ProviderUnavailable, f"{provider} failed ({{status}}); try again shortly"),
        Rule(None, None, errors.ProviderError, f"{provider} answered {{status}} unexpectedly"),
    )


def to_error(table: Sequence[Rule], provider: str, status: int, text: str, *, sending: bool,
             retry_after: float | None = None) -> errors.ProviderError:
    low = text.lower()
    for rule in table:
        if rule.matches(status, low, sending):
            message = rule.message.format(text=text or status, status=status)[:300]
            return rule.error(message, code=rule.code, provider=provider, http_status=status,
                              retry_after=retry_after if rule.error is errors.RateLimited else None)
    raise AssertionError("an error table must end with a catch-all row")


def server_failure(error: errors.ProviderError) -> bool:
    return isinstance(error, SICK) and error.code in ("provider_unreachable", "outcome_unknown")

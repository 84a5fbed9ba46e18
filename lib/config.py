"""Every setting the bundle reads from the environment, validated once.

`settings()` parses the environment on first use and caches the result; a missing or malformed
variable raises `ConfigError` naming the variable. Optional integrations (Evolution, GREEN-API
partner, Upstash) are validated for shape here and for presence where they are used
(`require(...)`), so a deployment without Evolution still serves GREEN-API numbers.

A frozen dataclass with the rules in each field's metadata, not a pydantic model: every function
imports this module, and pydantic alone cost the webhook functions ~200 ms of cold start.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import typing
from typing import Any, Literal

from lib.errors import ConfigError

Rollout = Literal["off", "beta", "all"]
ProviderName = Literal["green-api", "evolution"]
HTTP_URL = ("http://", "https://")


def env(default: Any, *, alias: str, ge: float | None = None, gt: float | None = None, le: float | None = None,
        pattern: str | None = None, prefixes: tuple[str, ...] | None = None, strip_slash: bool = False) -> Any:
    """A setting: its variable, its default and the rules its value must follow."""
    return dataclasses.field(default=default, metadata={
        "alias": alias, "ge": ge, "gt": gt, "le": le, "pattern": pattern, "prefixes": prefixes,
        "strip_slash": strip_slash})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Field alias = the environment variable's name (documented in the README)."""

    # Data
    database_url: str | None = env(None, alias="DATABASE_URL", prefixes=("postgres://", "postgresql://"))
    supabase_url: str | None = env(None, alias="SUPABASE_URL", prefixes=HTTP_URL, strip_slash=True)
    supabase_service_role_key: str | None = env(None, alias="SUPABASE_SERVICE_ROLE_KEY")
    data_transport: Literal["postgres", "postgrest"] | None = env(None, alias="DATA_TRANSPORT")
    db_timeout_seconds: float = env(5.0, alias="DB_TIMEOUT_SECONDS", gt=0, le=60)
    db_pool_max: int = env(2, alias="DB_POOL_MAX", ge=1, le=50)
    # Auth of the product API
    supabase_jwt_secret: str | None = env(None, alias="SUPABASE_JWT_SECRET")
    supabase_jwks_url: str | None = env(None, alias="SUPABASE_JWKS_URL", prefixes=HTTP_URL, strip_slash=True)
    cron_secret: str | None = env(None, alias="CRON_SECRET")
    # Redis (Upstash REST)
    upstash_redis_rest_url: str | None = env(None, alias="UPSTASH_REDIS_REST_URL", prefixes=HTTP_URL, strip_slash=True)
    upstash_redis_rest_token: str | None = env(None, alias="UPSTASH_REDIS_REST_TOKEN")
    # Providers
    default_provider: ProviderName = env("green-api", alias="DEFAULT_PROVIDER")
    evolution_rollout: Rollout = env("off", alias="EVOLUTION_ROLLOUT")
    # Tenants' limits: each number may be a paid instance
    max_numbers_per_user: int = env(10, alias="MAX_NUMBERS_PER_USER", ge=1, le=10_000)
    max_number_creates_per_hour: int = env(20, alias="MAX_NUMBER_CREATES_PER_HOUR", ge=1, le=10_000)
    evolution_api_url: str | None = env(None, alias="EVOLUTION_API_URL", prefixes=HTTP_URL, strip_slash=True)
    evolution_global_api_key: str | None = env(None, alias="EVOLUTION_GLOBAL_API_KEY")
    evolution_webhook_secret: str | None = env(None, alias="EVOLUTION_WEBHOOK_SECRET")
    evolution_webhook_secret_previous: str | None = env(None, alias="EVOLUTION_WEBHOOK_SECRET_PREVIOUS")
    evolution_webhook_max_age_seconds: int = env(300, alias="EVOLUTION_WEBHOOK_MAX_AGE_SECONDS", ge=30, le=3600)
    webhook_token_secret: str | None = env(None, alias="WEBHOOK_TOKEN_SECRET")
    webhook_token_secret_previous: str | None = env(None, alias="WEBHOOK_TOKEN_SECRET_PREVIOUS")
    green_api_url: str = env("https://api.green-api.com", alias="GREEN_API_URL", prefixes=HTTP_URL, strip_slash=True)
    green_api_media_url: str = env("https://media.green-api.com", alias="GREEN_API_MEDIA_URL", prefixes=HTTP_URL,
                                   strip_slash=True)
    green_api_partner_url: str = env("https://api.green-api.com", alias="GREEN_API_PARTNER_URL", prefixes=HTTP_URL,
                                     strip_slash=True)
    green_api_partner_token: str | None = env(None, alias="GREEN_API_PARTNER_TOKEN")
    provider_connect_timeout: float = env(3.0, alias="PROVIDER_CONNECT_TIMEOUT", gt=0, le=30)
    provider_read_timeout: float = env(20.0, alias="PROVIDER_READ_TIMEOUT", gt=0, le=120)
    # Where providers reach us
    public_base_url: str | None = env(None, alias="PUBLIC_BASE_URL", prefixes=HTTP_URL, strip_slash=True)
    vercel_project_production_url: str | None = env(None, alias="VERCEL_PROJECT_PRODUCTION_URL")
    vercel_url: str | None = env(None, alias="VERCEL_URL")
    # Operations
    metrics_token: str | None = env(None, alias="METRICS_TOKEN")
    smtp_url: str | None = env(None, alias="SMTP_URL", prefixes=("smtp://", "smtps://"))
    alert_email_from: str | None = env(None, alias="ALERT_EMAIL_FROM")
    alert_email_to: str | None = env(None, alias="ALERT_EMAIL_TO")
    slack_webhook_url: str | None = env(None, alias="SLACK_WEBHOOK_URL", prefixes=HTTP_URL)
    alert_server_down_after_seconds: int = env(300, alias="ALERT_SERVER_DOWN_AFTER_SECONDS", ge=0, le=86400)
    alert_error_rate: float = env(0.10, alias="ALERT_ERROR_RATE", gt=0, le=1)
    alert_error_window_seconds: int = env(300, alias="ALERT_ERROR_WINDOW_SECONDS", ge=60, le=86400)
    alert_min_calls: int = env(20, alias="ALERT_MIN_CALLS", ge=1)
    alert_cooldown_seconds: int = env(900, alias="ALERT_COOLDOWN_SECONDS", ge=0, le=86400)
    alert_auth_failures: int = env(20, alias="ALERT_AUTH_FAILURES", ge=1)
    alert_auth_window_seconds: int = env(300, alias="ALERT_AUTH_WINDOW_SECONDS", ge=60, le=86400)
    health_batch_size: int = env(500, alias="HEALTH_BATCH_SIZE", ge=1, le=2000)
    monitor_concurrency: int = env(16, alias="MONITOR_CONCURRENCY", ge=1, le=64)
    cron_budget_seconds: float = env(45.0, alias="CRON_BUDGET_SECONDS", gt=0, le=55)
    keepalive_interval_days: float = env(7.0, alias="KEEPALIVE_INTERVAL_DAYS", gt=0, le=30)
    phone_unseen_warn_days: float = env(10.0, alias="PHONE_UNSEEN_WARN_DAYS", gt=0, le=14)


    # Media
    # Supabase Storage over its S3 protocol (`https://<project>.supabase.co/storage/v1/s3`); moto locally.
    storage_s3_endpoint: str | None = env(None, alias="STORAGE_S3_ENDPOINT", prefixes=HTTP_URL, strip_slash=True)
    storage_s3_region: str = env("us-east-1", alias="STORAGE_S3_REGION")
    storage_s3_access_key_id: str | None = env(None, alias="STORAGE_S3_ACCESS_KEY_ID")
    storage_s3_secret_access_key: str | None = env(None, alias="STORAGE_S3_SECRET_ACCESS_KEY")
    media_bucket: str = env("media", alias="MEDIA_BUCKET", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # WhatsApp's own ceiling is 100 MB for most media (GREEN-API refuses larger files, SWE002) and 2 GB for
    # documents; a function holds the bytes in memory, so 100 MB is the default.
    media_max_bytes: int = env(100_000_000, alias="MEDIA_MAX_BYTES", ge=1, le=2_000_000_000)




    @property
    def transport(self) -> str:
        if self.data_transport:
            return self.data_transport
        return "postgres" if self.database_url else "postgrest"

    @property
    def base_url(self) -> str | None:
        """Our public address, for the webhook URLs we give providers."""
        if self.public_base_url:
            return self.public_base_url
        host = self.vercel_project_production_url or self.vercel_url
        return f"https://{host}" if host else None

    @property
    def jwks_url(self) -> str | None:
        if self.supabase_jwks_url:
            return self.supabase_jwks_url
        return f"{self.supabase_url}/auth/v1/.well-known/jwks.json" if self.supabase_url else None




_lock = threading.Lock()
_cached: Settings | None = None


def _choices(kind: Any) -> tuple[Any, ...] | None:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) is Literal:
        return typing.get_args(kind)
    if len(args) == 1 and typing.get_origin(args[0]) is Literal:
        return typing.get_args(args[0])
    return None


def _parse(field: dataclasses.Field, kind: Any, raw: str) -> Any:
    meta = field.metadata
    choices = _choices(kind)
    if choices is not None:
        if raw not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
        return raw
    base = {t for t in typing.get_args(kind) or (kind,) if t is not type(None)}
    if int in base:
        value: Any = int(raw)
    elif float in base:
        value = float(raw)
    else:
        value = raw
    if isinstance(value, (int, float)):
        if meta["ge"] is not None and value < meta["ge"]:
            raise ValueError(f"must be at least {meta['ge']}")
        if meta["gt"] is not None and value <= meta["gt"]:
            raise ValueError(f"must be more than {meta['gt']}")
        if meta["le"] is not None and value > meta["le"]:
            raise ValueError(f"must be at most {meta['le']}")
        return value
    if meta["prefixes"] and not value.startswith(meta["prefixes"]):
        raise ValueError(f"must start with {' or '.join(meta['prefixes'])}")
    if meta["pattern"] and not re.fullmatch(meta["pattern"], value):
        raise ValueError(f"must match {meta['pattern']}")
    return value.rstrip("/") if meta["strip_slash"] else value


_HINTS: dict[str, Any] | None = None


def load(environ: dict[str, str] | os._Environ | None = None) -> Settings:
    global _HINTS
    env_ = os.environ if environ is None else environ
    if _HINTS is None:
        _HINTS = typing.get_type_hints(Settings)
    values = {}
    for field in dataclasses.fields(Settings):
        alias = field.metadata["alias"]
        raw = env_.get(alias, "")
        if raw == "":
            continue
        try:
            values[field.name] = _parse(field, _HINTS[field.name], raw)
        except ValueError as exc:
            message = str(exc) if not str(exc).startswith(("invalid literal", "could not convert")) else "not a number"
            raise ConfigError(f"environment variable {alias} is malformed: {message}",
                              details={"variable": alias}) from None
    return Settings(**values)


def aliases() -> list[str]:
    """Every variable this module reads."""
    return [f.metadata["alias"] for f in dataclasses.fields(Settings)]


def settings() -> Settings:
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                _cached = load()
    return _cached


def reset() -> None:
    """Forget the cached settings (tests and the dev server change the environment)."""
    global _cached
    with _lock:
        _cached = None


def require(value: str | None, variable: str) -> str:
    """The value of a setting a feature cannot work without; a ConfigError naming it otherwise."""
    if not value:
        raise ConfigError(f"environment variable {variable} is not set", details={"variable": variable})
    return value

"""Every setting the bundle reads from the environment, validated once.

`settings()` parses the environment on first use and caches the result; a missing or malformed
variable raises `ConfigError` naming the variable. Optional integrations (Evolution, GREEN-API
partner, Upstash) are validated for shape here and for presence where they are used
(`require(...)`), so a deployment without Evolution still serves GREEN-API numbers.
"""

from __future__ import annotations

import os
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lib.errors import ConfigError

Rollout = Literal["off", "beta", "all"]
ProviderName = Literal["green-api", "evolution"]


class Settings(BaseModel):
    """Field alias = the environment variable's name (documented in the README)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # Data
    database_url: str | None = Field(None, alias="DATABASE_URL")
    supabase_url: str | None = Field(None, alias="SUPABASE_URL")
    supabase_service_role_key: str | None = Field(None, alias="SUPABASE_SERVICE_ROLE_KEY")
    data_transport: Literal["postgres", "postgrest"] | None = Field(None, alias="DATA_TRANSPORT")
    db_timeout_seconds: float = Field(5.0, alias="DB_TIMEOUT_SECONDS", gt=0, le=60)
    db_pool_max: int = Field(5, alias="DB_POOL_MAX", ge=1, le=50)
    # Auth of the product API
    supabase_jwt_secret: str | None = Field(None, alias="SUPABASE_JWT_SECRET")
    supabase_jwks_url: str | None = Field(None, alias="SUPABASE_JWKS_URL")
    cron_secret: str | None = Field(None, alias="CRON_SECRET")
    # Redis (Upstash REST)
    upstash_redis_rest_url: str | None = Field(None, alias="UPSTASH_REDIS_REST_URL")
    upstash_redis_rest_token: str | None = Field(None, alias="UPSTASH_REDIS_REST_TOKEN")
    # Providers
    default_provider: ProviderName = Field("green-api", alias="DEFAULT_PROVIDER")
    evolution_rollout: Rollout = Field("off", alias="EVOLUTION_ROLLOUT")
    # Tenants' limits: each number may be a paid instance
    max_numbers_per_user: int = Field(10, alias="MAX_NUMBERS_PER_USER", ge=1, le=10_000)
    max_number_creates_per_hour: int = Field(20, alias="MAX_NUMBER_CREATES_PER_HOUR", ge=1, le=10_000)
    evolution_api_url: str | None = Field(None, alias="EVOLUTION_API_URL")
    evolution_global_api_key: str | None = Field(None, alias="EVOLUTION_GLOBAL_API_KEY")
    evolution_webhook_secret: str | None = Field(None, alias="EVOLUTION_WEBHOOK_SECRET")
    evolution_webhook_secret_previous: str | None = Field(None, alias="EVOLUTION_WEBHOOK_SECRET_PREVIOUS")
    evolution_webhook_max_age_seconds: int = Field(300, alias="EVOLUTION_WEBHOOK_MAX_AGE_SECONDS", ge=30, le=3600)
    webhook_token_secret: str | None = Field(None, alias="WEBHOOK_TOKEN_SECRET")
    webhook_token_secret_previous: str | None = Field(None, alias="WEBHOOK_TOKEN_SECRET_PREVIOUS")
    green_api_url: str = Field("https://api.green-api.com", alias="GREEN_API_URL")
    green_api_media_url: str = Field("https://media.green-api.com", alias="GREEN_API_MEDIA_URL")
    green_api_partner_url: str = Field("https://api.green-api.com", alias="GREEN_API_PARTNER_URL")
    green_api_partner_token: str | None = Field(None, alias="GREEN_API_PARTNER_TOKEN")
    provider_connect_timeout: float = Field(3.0, alias="PROVIDER_CONNECT_TIMEOUT", gt=0, le=30)
    provider_read_timeout: float = Field(20.0, alias="PROVIDER_READ_TIMEOUT", gt=0, le=120)
    # Where providers reach us
    public_base_url: str | None = Field(None, alias="PUBLIC_BASE_URL")
    vercel_project_production_url: str | None = Field(None, alias="VERCEL_PROJECT_PRODUCTION_URL")
    vercel_url: str | None = Field(None, alias="VERCEL_URL")
    # Operations
    metrics_token: str | None = Field(None, alias="METRICS_TOKEN")
    smtp_url: str | None = Field(None, alias="SMTP_URL")
    alert_email_from: str | None = Field(None, alias="ALERT_EMAIL_FROM")
    alert_email_to: str | None = Field(None, alias="ALERT_EMAIL_TO")
    slack_webhook_url: str | None = Field(None, alias="SLACK_WEBHOOK_URL")
    alert_server_down_after_seconds: int = Field(300, alias="ALERT_SERVER_DOWN_AFTER_SECONDS", ge=0, le=86400)
    alert_error_rate: float = Field(0.10, alias="ALERT_ERROR_RATE", gt=0, le=1)
    alert_error_window_seconds: int = Field(300, alias="ALERT_ERROR_WINDOW_SECONDS", ge=60, le=86400)
    alert_min_calls: int = Field(20, alias="ALERT_MIN_CALLS", ge=1)
    alert_cooldown_seconds: int = Field(900, alias="ALERT_COOLDOWN_SECONDS", ge=0, le=86400)
    alert_auth_failures: int = Field(20, alias="ALERT_AUTH_FAILURES", ge=1)
    alert_auth_window_seconds: int = Field(300, alias="ALERT_AUTH_WINDOW_SECONDS", ge=60, le=86400)
    health_batch_size: int = Field(500, alias="HEALTH_BATCH_SIZE", ge=1, le=2000)
    monitor_concurrency: int = Field(16, alias="MONITOR_CONCURRENCY", ge=1, le=64)
    cron_budget_seconds: float = Field(45.0, alias="CRON_BUDGET_SECONDS", gt=0, le=55)
    keepalive_interval_days: float = Field(7.0, alias="KEEPALIVE_INTERVAL_DAYS", gt=0, le=30)
    phone_unseen_warn_days: float = Field(10.0, alias="PHONE_UNSEEN_WARN_DAYS", gt=0, le=14)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("smtp://", "smtps://")):
            raise ValueError("must be smtp://[user:pass@]host[:port] or smtps://...")
        return v or None

    @field_validator("slack_webhook_url")
    @classmethod
    def _slack_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v or None
    # Media
    # Supabase Storage over its S3 protocol (`https://<project>.supabase.co/storage/v1/s3`); moto locally.
    storage_s3_endpoint: str | None = Field(None, alias="STORAGE_S3_ENDPOINT")
    storage_s3_region: str = Field("us-east-1", alias="STORAGE_S3_REGION")
    storage_s3_access_key_id: str | None = Field(None, alias="STORAGE_S3_ACCESS_KEY_ID")
    storage_s3_secret_access_key: str | None = Field(None, alias="STORAGE_S3_SECRET_ACCESS_KEY")
    media_bucket: str = Field("media", alias="MEDIA_BUCKET", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # WhatsApp's own ceiling is 100 MB for most media (GREEN-API refuses larger files, SWE002) and 2 GB for
    # documents; a function holds the bytes in memory, so 100 MB is the default.
    media_max_bytes: int = Field(100_000_000, alias="MEDIA_MAX_BYTES", ge=1, le=2_000_000_000)

    @field_validator("storage_s3_endpoint")
    @classmethod
    def _storage_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/") if v else None

    @field_validator("database_url")
    @classmethod
    def _pg_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgresql://")
        return v or None

    @field_validator("supabase_url", "supabase_jwks_url", "upstash_redis_rest_url", "evolution_api_url",
                     "green_api_url", "green_api_media_url", "green_api_partner_url", "public_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/") if v else None

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


def load(environ: dict[str, str] | os._Environ | None = None) -> Settings:
    env = os.environ if environ is None else environ
    aliases = {f.alias for f in Settings.model_fields.values()}
    raw = {k: v for k, v in env.items() if k in aliases and v != ""}
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        raise ConfigError(f"environment variable {alias} is malformed: {first['msg']}",
                          details={"variable": alias}) from None


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

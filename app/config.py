"""Settings, read from the environment (prefix ``SKM_``) or a ``.env`` file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import validation_items, validation_summary

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "change-me"  # noqa: S105 (a placeholder, refused outside development)
# Form tokens are signed and client addresses hashed with the key: in production it must be
# long enough not to be guessed (`skm secret` prints one of 64 characters).
MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKM_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///skm.db"
    forms_dir: Path = REPO_ROOT / "survey_forms"
    # The questionnaire a unit's survey page and ingest use unless the unit names its own.
    default_form: str = "permenpan-rb-14-2017"
    public_base_url: str = "http://127.0.0.1:8000"
    # QR codes and posters are refused while public_base_url is a loopback address (phones
    # cannot open it), unless this is set: a local trial or the demo.
    allow_local_base_url: bool = False
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    sqlite_busy_timeout_ms: int = 10_000
    # PostgreSQL connections each server process keeps (and never exceeds): processes x this
    # must stay under the server's max_connections (100 by default). A group commit takes one
    # connection for many requests: 10 served 64 clients as fast as 20 did.
    database_pool_size: int = Field(default=10, ge=1, le=500)
    # A citizen form sent sooner than this after it was served is refused as automated.
    survey_min_seconds: int = 5
    survey_max_seconds: int = 2 * 60 * 60
    kiosk_return_seconds: int = 8
    # Submissions allowed per hour from one client (keyed IP hash) and to one counter.
    rate_per_client_hour: int = 20
    rate_per_counter_hour: int = 600
    # A second response from the same browser to the same counter within this time is flagged.
    device_cooldown_hours: int = 12
    # Proxies whose X-Forwarded-For is believed (IP addresses or CIDR networks).
    trusted_proxies: list[str] = []
    # Largest request body accepted (a batch of 1,000 responses with long saran fits).
    max_body_bytes: int = 4 * 1024 * 1024
    # How long `skm serve --workers N` waits for a worker to answer its health check before it
    # replaces it: a worker starting on a busy 2-core machine can take longer than uvicorn's 5 s.
    worker_healthcheck_seconds: int = Field(default=30, ge=1, le=600)
    # The periodic job (alerts, webhook deliveries) each server process runs; off for a
    # replica that should only answer requests, or when `skm jobs run` runs from cron.
    background_jobs: bool = True
    job_interval_seconds: int = Field(default=60, ge=5, le=3600)
    # Alerts compare a scope's last N responses with the N before them.
    alert_window_responses: int = Field(default=30, ge=10, le=1000)

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> "Settings":
        # The placeholder is shorter than the minimum, so it is refused too.
        if (
            self.environment == "production"
            and len(self.secret_key.get_secret_value()) < MIN_SECRET_CHARS
        ):
            raise ValueError(
                f"SKM_SECRET_KEY must be at least {MIN_SECRET_CHARS} characters in production; "
                "run `skm secret` to make one"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_problem(exc: ValidationError) -> str:
    """Settings that cannot be used, in one line naming the environment variables."""
    items = validation_items(exc.errors())
    for item in items:
        item["loc"] = [f"SKM_{str(part).upper()}" for part in item["loc"][:1]]
    return validation_summary(items)

"""Configuration read from the environment, as production runs it."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")

    app_env: str = "development"
    pool_size: int = 5
    log_level: str = "DEBUG"
    secret_key: SecretStr = SecretStr("dev-only-not-a-secret")


settings = Settings()

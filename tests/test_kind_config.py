"""``[config]``: values of the settings object, read in-process; secrets
documented by name, never compared, never shown."""

from __future__ import annotations

import textwrap

import pytest
from conftest import QUIET, Project

SECRET_VALUE = "hunter2-live-signing-key"

APP = """
    from fastapi import FastAPI

    app = FastAPI()
"""

SETTINGS_MODULE = f"""
    import enum
    from pathlib import Path

    from pydantic import BaseModel, SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict


    class LogLevel(str, enum.Enum):
        DEBUG = "DEBUG"
        INFO = "INFO"


    class Database(BaseModel):
        pool_size: int = 10
        hosts: tuple[str, ...] = ("db1", "db2")


    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="SHOP_")

        pool_size: int = 10
        log_level: LogLevel = LogLevel.INFO
        allowed_hosts: tuple[str, ...] = ("api.shop.example",)
        data_dir: Path = Path("/var/lib/shop")
        request_timeout: float = 2.5
        compress: bool = True
        database: Database = Database()
        secret_key: SecretStr = SecretStr("{SECRET_VALUE}")


    settings = Settings()
    PLAIN = {{"pool_size": 10}}


    def get_settings():
        return Database()
"""

MANIFEST = (
    """
    [target]
    app = "app:app"
    env = { SHOP_POOL_SIZE = "10" }

    [config]
    object = "shop_config:settings"
    secrets = ["secret_key"]
    why = "the production settings, as the platform team runs them"
    owner = "platform-team"

    [config.values]
    pool_size = 10
    log_level = "INFO"
    allowed_hosts = ["api.shop.example"]
    data_dir = "/var/lib/shop"
    request_timeout = 2.5
    compress = true
    database = { pool_size = 10, hosts = ["db1", "db2"] }
    """
    + QUIET
)


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern matching exactly itself."""
    return "".join(f"[{char}]" if char in "[]*?" else char for char in text)


def _project(project: Project, manifest: str = MANIFEST, settings: str = SETTINGS_MODULE) -> None:
    project.app(APP)
    project.app(settings, name="shop_config")
    project.manifest(manifest)


def test_documented_config_passes_one_item_per_value_and_secret(project: Project) -> None:
    _project(project)
    result = project.run()
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::config:pool_size",
            "PASSED defaults.toml::config:log_level",
            "PASSED defaults.toml::config:allowed_hosts",
            "PASSED defaults.toml::config:data_dir",
            "PASSED defaults.toml::config:request_timeout",
            "PASSED defaults.toml::config:compress",
            "PASSED defaults.toml::config:database",
            "PASSED defaults.toml::config:secret_key[[]secret[]]",
        ]
    )


def test_a_changed_value_fails_at_its_own_line(project: Project) -> None:
    _project(project, MANIFEST.replace('SHOP_POOL_SIZE = "10"', 'SHOP_POOL_SIZE = "50"'))
    result = project.run()
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ config:pool_size _*",
            "config pool_size: documented 10, live 50",
            "  why:      the production settings, as the platform team runs them",
            "  owner:    platform-team",
            "  manifest: defaults.toml:13",
        ]
    )


def test_enums_lists_paths_and_nested_models_compare_as_toml_writes_them(project: Project) -> None:
    _project(
        project,
        MANIFEST.replace('log_level = "INFO"', 'log_level = "DEBUG"')
        .replace('allowed_hosts = ["api.shop.example"]', 'allowed_hosts = ["*"]')
        .replace('data_dir = "/var/lib/shop"', 'data_dir = "/tmp"')
        .replace('hosts = ["db1", "db2"]', 'hosts = ["db1"]')
        .replace("compress = true", "compress = 1"),
    )
    result = project.run()
    result.assert_outcomes(passed=3, failed=5)
    result.stdout.fnmatch_lines(
        [
            "config log_level: documented 'DEBUG', live 'INFO'",
            literal("config allowed_hosts: documented ['*'], live ['api.shop.example']"),
            "config data_dir: documented '/tmp', live '/var/lib/shop'",
            "config compress: documented 1, live True",
            literal(
                "config database: documented {'pool_size': 10, 'hosts': ['db1']}, "
                "live {'pool_size': 10, 'hosts': ['db1', 'db2']}"
            ),
        ],
        consecutive=False,
    )


def test_a_value_of_a_field_that_does_not_exist_fails(project: Project) -> None:
    _project(project, MANIFEST.replace("pool_size = 10\n", "pool_sise = 10\n", 1))
    result = project.run("-k", "pool_sise")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["config pool_sise: documented 10, live no such field (shop_config:settings is a Settings)"]
    )


def test_a_secret_that_does_not_exist_fails_without_showing_any_value(project: Project) -> None:
    _project(project, MANIFEST.replace('secrets = ["secret_key"]', 'secrets = ["secret_key", "api_token"]'))
    result = project.run("-k", "secret")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "config api_token: documented a secret field, live no such field (shop_config:settings is a Settings)",
            "  manifest: defaults.toml:8",
            "PASSED defaults.toml::config:secret_key[[]secret[]]",
        ],
        consecutive=False,
    )
    assert SECRET_VALUE not in result.stdout.str()


def test_a_secret_str_documented_as_a_value_is_compared_but_never_shown(project: Project) -> None:
    manifest = MANIFEST.replace('secrets = ["secret_key"]', "secrets = []").replace(
        "pool_size = 10\n", 'pool_size = 10\nsecret_key = "hunter2-documented"\n', 1
    )
    _project(project, manifest)
    result = project.run("-k", "secret_key")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["config secret_key: documented **********, live ********** (a secret: its value is never shown)"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert SECRET_VALUE not in output
    assert "hunter2-documented" not in output


def test_an_object_that_cannot_be_imported_fails_every_config_item_with_the_cause(project: Project) -> None:
    _project(project, MANIFEST.replace('object = "shop_config:settings"', 'object = "shop_settings:settings"'))
    result = project.run()
    result.assert_outcomes(failed=8)
    result.stdout.fnmatch_lines(
        [
            "config:pool_size: target unavailable: cannot import 'shop_settings': "
            "ModuleNotFoundError: No module named 'shop_settings'",
        ]
    )


def test_an_object_that_is_not_a_pydantic_model_fails(project: Project) -> None:
    _project(project, MANIFEST.replace('object = "shop_config:settings"', 'object = "shop_config:PLAIN"'))
    result = project.run("-k", "pool_size")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "config:pool_size: target unavailable: shop_config:PLAIN is a dict, "
            "not a pydantic-settings BaseSettings (or pydantic model) instance"
        ]
    )


def test_a_factory_returning_a_plain_pydantic_model_is_checked(project: Project) -> None:
    _project(
        project,
        """
        [target]
        app = "app:app"

        [config]
        object = "shop_config:get_settings()"
        values = { pool_size = 10, hosts = ["db1", "db3"] }
        """
        + QUIET,
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            literal("config hosts: documented ['db1', 'db3'], live ['db1', 'db2']"),
            "  manifest: defaults.toml:7",
        ]
    )


def test_url_mode_still_imports_the_settings_object_in_process(project: Project) -> None:
    project.app(SETTINGS_MODULE, name="shop_config")
    project.manifest(
        """
        [target]
        mode = "url"
        base_url = "http://127.0.0.1:9"
        env = { SHOP_POOL_SIZE = "20" }

        [config]
        object = "shop_config:settings"
        values = { pool_size = 20, log_level = "INFO" }
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(passed=2)


def test_missing_object_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [config]
        values = { pool_size = 10 }
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:5: config.object: required key is missing"])


def test_an_object_reference_without_a_colon_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [config]
        object = "shop_config.settings"
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["defaults.toml:6: config.object: 'shop_config.settings' is not 'module:attribute' or 'module:factory()'"]
    )


def test_a_field_both_in_values_and_secrets_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [config]
        object = "shop_config:settings"
        values = { secret_key = "x" }
        secrets = ["secret_key"]
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "defaults.toml:5: config: secret_key in both 'values' and 'secrets': "
            "a secret's value is never written down or compared"
        ]
    )
    assert '"x"' not in result.stderr.str()


def test_a_misspelt_key_names_the_closest_known_key(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [config]
        object = "shop_config:settings"
        secret = ["secret_key"]
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:7: config.secret: unknown key 'secret'; did you mean 'secrets'?"])


SERVICE_PACKAGE = {
    # Import-time global state, as a metrics registry has: registering one
    # name twice raises (prometheus_client: "Duplicated timeseries").
    "shop/__init__.py": "",
    "shop/metrics.py": """
        from pathlib import Path

        def register(name):
            registry = Path("registry.log")
            seen = registry.read_text().split() if registry.exists() else []
            if name in seen:
                raise ValueError(f"Duplicated timeseries in CollectorRegistry: {name}")
            registry.write_text(" ".join([*seen, name]))
    """,
    "shop/config.py": """
        from pydantic_settings import BaseSettings

        from shop.metrics import register

        register("config_reloads_total")

        class Settings(BaseSettings):
            pool_size: int = 10
            log_level: str = "INFO"

        settings = Settings()
    """,
    "shop/main.py": """
        from fastapi import FastAPI

        from shop.config import settings
        from shop.metrics import register

        register("http_requests_total")
        app = FastAPI()

        @app.on_event("startup")
        async def tune_for_production():
            settings.pool_size = 40  # the app's own object, changed as it starts
    """,
}


@pytest.mark.parametrize("installed", [".venv/lib/site-packages", "../elsewhere/site-packages"])
def test_the_config_object_is_the_apps_own_never_a_second_import(project: Project, installed: str) -> None:
    # An older release of the same package, installed in a virtualenv (in the
    # project's folder or not) and already imported by the service's own
    # conftest when the plugin starts.
    site = (project.path / installed).resolve()
    files = {
        **SERVICE_PACKAGE,
        f"{site}/shop/__init__.py": "RELEASE = 'installed'",
        "conftest.py": f"import sys\nsys.path.insert(0, {str(site)!r})\nimport shop  # noqa: F401\n",
    }
    for name, source in files.items():
        (project.path / name).parent.mkdir(parents=True, exist_ok=True)
        (project.path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    project.manifest(
        f"""
        [target]
        app = "shop.main:app"

        [[header]]
        name = "content-type"
        equals = "application/json"
        paths = ["/missing"]

        [config]
        object = "shop.config:settings"
        values = {{ pool_size = 40, log_level = "INFO" }}
        {QUIET}
        """
    )
    # The app first (the header item starts it), then its config: read from
    # the object the app's startup changed, not from a fresh import.
    result = project.run("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    registered = (project.path / "registry.log").read_text().split()
    assert sorted(registered) == ["config_reloads_total", "http_requests_total"]

"""Issue 17: no credential in any output, whatever its type, in any of its
escaped forms: the terminal, the reports, JUnit XML, the log file, what the
app prints at shutdown, and the manifest ``prod-defaults init`` writes.

The service is modelled on a real one: pydantic-settings with a SecretStr
signing key, a plain ``str`` API token, a DSN with a password and a nested
section with a secret; an app that echoes the Authorization header it was
sent, publishes its own secret and the session cookie in response headers,
and logs and prints credentials at startup and shutdown.
"""

from __future__ import annotations

import html
import json
import sys

import pytest
from conftest import QUIET, Project

SECRETS = {
    # A SecretStr holding a backslash and both quote kinds: repr, JSON and
    # XML each write it differently.
    "signing key": "s1gn\\ing\"key'Zq9",
    "bearer token": "tok\\en\"Bear'er9x",
    "api token": "plain-Api-T0ken-77q",
    "database password": "dbPa55-W0rd-x9",
    "nested webhook secret": "whsec-Nested-55yz",
    "session cookie": "sess-C00kie-Valu3-q",
}

ENVIRONMENT = {
    "SIGNING_KEY": SECRETS["signing key"],
    "SHOP_TOKEN": SECRETS["bearer token"],
    "API_TOKEN": SECRETS["api token"],
    "DATABASE_URL": f"postgresql://shop:{SECRETS['database password']}@db.internal:5432/shop",
    "PAYMENTS__WEBHOOK_SECRET": SECRETS["nested webhook secret"],
    "SESSION_VALUE": SECRETS["session cookie"],
}

SHOP_APP = """
    import asyncio
    import json
    import logging
    import os
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request, Response
    from pydantic import BaseModel, SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict


    class PaymentSettings(BaseModel):
        provider: str = "stripe"
        webhook_secret: SecretStr = SecretStr("")


    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_nested_delimiter="__")

        app_env: str = "production"
        signing_key: SecretStr
        api_token: str
        database_url: str
        payments: PaymentSettings = PaymentSettings()


    settings = Settings()
    log = logging.getLogger("shop")
    seen = {"authorization": ""}


    async def worker():
        try:
            await asyncio.sleep(3600)
        finally:
            print(f"worker stopped; it used api token {settings.api_token}")


    @asynccontextmanager
    async def lifespan(app):
        log.warning("starting with api token %s", settings.api_token)
        print(f"connecting to {settings.database_url}")
        task = asyncio.create_task(worker())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(f"last authorization seen: {seen['authorization']}")
        print(f"shutting down with key {settings.signing_key.get_secret_value()!r}")
        print("and webhook secret " + json.dumps(settings.payments.webhook_secret.get_secret_value()))
        log.warning("shutdown: last authorization %r", seen["authorization"])


    app = FastAPI(lifespan=lifespan)


    @app.get("/")
    def index(request: Request, response: Response):
        authorization = request.headers.get("authorization", "")
        seen["authorization"] = authorization
        log.warning("request: %s", json.dumps({"authorization": authorization}))
        print(f"request with {authorization!r}")
        response.headers["X-Echo-Authorization"] = authorization
        response.headers["X-Debug-Key"] = settings.signing_key.get_secret_value()
        response.headers["X-Session-Echo"] = os.environ["SESSION_VALUE"]
        response.set_cookie("session", os.environ["SESSION_VALUE"], httponly=True, samesite="lax")
        return {"ok": True}
"""

SHOP_MANIFEST = """
    [target]
    app = "app:app"
    headers = { Authorization = "Bearer ${SHOP_TOKEN}" }

    [[header]]
    name = "X-Echo-Authorization"
    equals = "documented"

    [[header]]
    name = "X-Debug-Key"
    equals = "documented"

    [[header]]
    name = "X-Session-Echo"
    equals = "documented"

    [[cookie]]
    name = "session"
    path = "/"
    secure = true

    [config]
    object = "app:settings"
    secrets = ["signing_key"]

    [config.values]
    app_env = "staging"
    api_token = "documented-token"
    database_url = "postgresql://shop:other@db/shop"
    payments = { provider = "adyen", webhook_secret = "x" }

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "off"
    config = "fail"
"""


def escaped_forms(secret: str) -> set[str]:
    """``secret`` as each encoding an output may use writes it."""
    return {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        html.escape(secret).replace("&#x27;", "&apos;"),
        secret.replace("\\", "\\\\"),
    }


def leaks(outputs: dict[str, str]) -> list[tuple[str, str]]:
    """Every (output, secret) pair where some form of the secret shows."""
    return [
        (where, name)
        for where, text in outputs.items()
        for name, secret in SECRETS.items()
        if any(form in text for form in escaped_forms(secret))
    ]


@pytest.fixture
def shop(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "step-summary.md"))
    project.app(SHOP_APP)
    project.manifest(SHOP_MANIFEST)
    return project


@pytest.mark.parametrize(
    ("mode", "workers"),
    [("asgi", ()), ("server", ()), ("asgi", ("-p", "xdist", "-n", "2", "-k", "header or cookie"))],
    ids=["asgi", "server", "asgi-xdist"],
)
def test_no_credential_in_any_output_of_a_run_in_any_escaped_form(
    shop: Project, mode: str, workers: tuple[str, ...]
) -> None:
    """Under xdist, with no config item run, the workers still hide the
    config's secrets (the signing key the app publishes in X-Debug-Key)."""
    result = shop.run_subprocess(
        *workers,
        "--defaults-mode",
        mode,
        "-p",
        "no:randomly",
        "-vv",
        "--tb=long",
        "-l",
        "-o",
        "log_cli=true",
        "--log-level=DEBUG",
        "--log-file=run.log",
        "--log-file-level=DEBUG",
        "-o",
        "junit_logging=all",
        "--junitxml=report.xml",
        "--defaults-report=r.json",
        "--defaults-report=r.md",
    )
    files = ("report.xml", "r.json", "r.md", "step-summary.md", "run.log")
    outputs = {
        "stdout": result.stdout.str(),
        "stderr": result.stderr.str(),
        **{name: (shop.path / name).read_text(encoding="utf-8") for name in files},
    }
    found = leaks(outputs)
    assert found == [], (len(found), found)
    # Still useful: each drift says what it is about, where the secret was.
    drifts = [
        "header X-Echo-Authorization on /: documented 'documented', live <redacted> *",
        "header X-Debug-Key on /: documented 'documented', live '<redacted>' *",
        "header X-Session-Echo on /: documented 'documented', live '<redacted>' *",
        "cookie session Secure: documented present, live absent *",
    ]
    for drift in drifts:
        result.stdout.fnmatch_lines([drift])
    report = json.loads(outputs["r.json"])
    live = {r["id"]: r["live"] for r in report["results"] if r["outcome"] == "drifted"}
    assert live["header:X-Debug-Key[/]"] == "'<redacted>'"
    if workers:
        return  # no config item ran; and what workers print at their shutdown reaches no output of the run
    assert live["config:api_token"] == "**********"
    result.stdout.fnmatch_lines(
        [
            "config app_env: documented 'staging', live 'production'",
            "config api_token: documented **********, live ********** (a secret: its value is never shown)",
            "config database_url: documented **********, live ********** (a secret: its value is never shown)",
            "config payments: documented **********, live ********** (a secret: its value is never shown)",
        ],
        consecutive=False,
    )
    # What the app said at shutdown, after pytest's capture had stopped, is
    # still shown: with every credential hidden.
    shown = result.stdout.str() + result.stderr.str()
    assert "worker stopped; it used api token <redacted>" in shown
    assert "last authorization seen: Bearer ${SHOP_TOKEN}" in shown
    assert "shutting down with key '<redacted>'" in shown
    assert "connecting to postgresql://shop:<redacted>@db.internal:5432/shop" in shown


def test_init_never_writes_a_credential(shop: Project) -> None:
    result = shop.pytester.run(
        sys.executable,
        "-m",
        "pytest_prod_defaults",
        "init",
        "--app",
        "app:app",
        "--config",
        "app:settings",
        "-o",
        "init.toml",
        timeout=120,
    )
    assert result.ret == 0, result.stderr.str()
    written = (shop.path / "init.toml").read_text(encoding="utf-8")
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), "init.toml": written}
    found = leaks(outputs)
    assert found == [], (len(found), found)
    import tomllib

    document = tomllib.loads(written)
    assert sorted(document["config"]["secrets"]) == ["api_token", "database_url", "payments", "signing_key"]
    assert document["config"]["values"] == {"app_env": "production"}
    headers = {header["name"]: header for header in document["header"]}
    assert "equals" not in headers["X-Debug-Key"] and "equals" not in headers["X-Session-Echo"]
    # A pattern of its shape, which the app still passes.
    check = shop.pytester.runpytest_subprocess(
        "--check-defaults", "--defaults-file", "init.toml", "-p", "no:cacheprovider", "-q"
    )
    assert check.ret == 0, check.stdout.str()
    assert leaks({"stdout": check.stdout.str(), "stderr": check.stderr.str()}) == []


def test_a_warning_the_app_raises_with_a_credential_is_shown_redacted(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-warned-4b9e2f7a1c"
    monkeypatch.setenv("WARN_TOKEN", token)
    project.app(
        """
        import threading
        import warnings

        from fastapi import FastAPI, Request

        app = FastAPI()

        @app.get("/")
        def index(request: Request):
            seen = request.headers["authorization"]
            warnings.warn(f"deprecated client credentials: {seen}", DeprecationWarning)

            def audit():
                raise RuntimeError(f"audit sink refused {seen}")

            worker = threading.Thread(target=audit)
            worker.start()
            worker.join()
            return {"ok": True}
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        headers = { Authorization = "Bearer ${WARN_TOKEN}" }

        [[header]]
        name = "X-A"
        absent = true
        """
        + QUIET
    )
    result = project.run("-W", "default::DeprecationWarning", "-W", "default::pytest.PytestWarning")
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(
        ["*deprecated client credentials: Bearer ${WARN_TOKEN}*", "*audit sink refused Bearer ${WARN_TOKEN}*"],
        consecutive=False,
    )
    assert token not in result.stdout.str() + result.stderr.str()


THREAD_APP = """
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Settings(BaseModel):
        app_env: str = "production"
        api_token: str = "plain-Api-T0ken-77q"

    settings = Settings()
    app = FastAPI()
"""


def test_a_run_opened_off_the_main_thread_learns_the_config_secrets_there(project: Project) -> None:
    # An xdist worker may run its session, collection and checks alike, on a
    # thread that is not the main one: its config secrets were never asked
    # for there, and the app's startup log showed a token (found by CI, one
    # run in a few).
    import threading

    from pytest_prod_defaults.registry import builtin_kind_modules, ordered_kinds
    from pytest_prod_defaults.runner import DefaultsRun

    project.app(THREAD_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [config]
        object = "app:settings"
        secrets = ["api_token"]
        """
    )
    kinds = ordered_kinds([module.pytest_prod_defaults_kinds() for module in builtin_kind_modules()])
    shown: dict[str, str] = {}

    def on_a_worker_thread() -> None:
        run = DefaultsRun.open(project.path / "defaults.toml", kinds)
        try:
            run.target.app()  # imports the app, and asks what to hide before it starts
            shown["worker"] = run.manifest.redact("starting with api token plain-Api-T0ken-77q")
        finally:
            run.close()

    worker = threading.Thread(target=on_a_worker_thread, name="Dummy-worker")
    worker.start()
    worker.join(30)
    assert shown == {"worker": "starting with api token <redacted>"}

"""Values a manifest cannot mean: each is a usage error naming file, line
and key, in every mode, before anything is imported or sent. A coercion that
would change what the entry says (``secure = "yes"``, a status of ``413.0``)
is refused rather than guessed."""

from __future__ import annotations

import pytest
from conftest import Project, usage_error

TARGET = '[target]\napp = "app:app"\n'

CASES = {
    # [target]
    "env name with '='": (
        TARGET + 'env = { "A=B" = "1" }\n',
        ["defaults.toml:3: target.env: 'A=B' is not an environment*"],
    ),
    "env name empty": (TARGET + 'env = { "" = "1" }\n', ["defaults.toml:3: target.env: '' is not an environment*"]),
    "env value with NUL": (
        TARGET + 'env = { APP_ENV = "prod\\u0000" }\n',
        ["defaults.toml:3: target.env: the value of APP_ENV has a NUL character*"],
    ),
    "app_dir with NUL": (
        TARGET + 'app_dir = "src\\u0000"\n',
        ["defaults.toml:3: target.app_dir: 'src\\x00' is not a folder path"],
    ),
    "timeout beyond a day": (
        TARGET + "timeout = 99999999999999999999\n",
        ["defaults.toml:3: target.timeout: Input should be less than or equal to 86400*"],
    ),
    "startup_timeout not a number": (
        TARGET + 'startup_timeout = "30"\n',
        ["defaults.toml:3: target.startup_timeout: Input should be a valid number (got '30')"],
    ),
    "host with a line break": (
        TARGET + 'host = "api.shop.example\\r\\nX-Evil: 1"\n',
        ["defaults.toml:3: target.host: * is not a host for the Host header*"],
    ),
    "host not in ASCII": (
        TARGET + 'host = "bücher.example"\n',
        ["defaults.toml:3: target.host: * (a non-ASCII name is written in its xn-- form)"],
    ),
    "path with a space": (
        TARGET + 'paths = ["/a b"]\n',
        ["defaults.toml:3: target.paths[[]1[]]: '/a b' cannot be sent as a request path: it has a space*"],
    ),
    "path not in ASCII": (
        TARGET + 'paths = ["/caf\u00e9"]\n',
        ["defaults.toml:3: target.paths[[]1[]]: * it has the non-ASCII character 'é'; write it percent-encoded*"],
    ),
    "path with NUL": (
        TARGET + 'paths = ["/a\\u0000"]\n',
        ["defaults.toml:3: target.paths[[]1[]]: * it has a control character*"],
    ),
    # header names
    "header name empty": (
        TARGET + '[[header]]\nname = ""\nabsent = true\n',
        ["defaults.toml:4: header[[]1[]].name: '' is not a header name*"],
    ),
    "header name with a space": (
        TARGET + '[[header]]\nname = "X Frame"\nabsent = true\n',
        ["defaults.toml:4: header[[]1[]].name: 'X Frame' is not a header name*"],
    ),
    "header name with brackets and colons": (
        TARGET + '[[header]]\nname = "X::Y[/z]"\nabsent = true\n',
        ["defaults.toml:4: header[[]1[]].name: 'X::Y[[]/z[]]' is not a header name*"],
    ),
    "header name with DEL": (
        TARGET + '[[header]]\nname = "X-A\\u007f"\nabsent = true\n',
        ["defaults.toml:4: header[[]1[]].name: * is not a header name*"],
    ),
    "ignored header name with a line break": (
        TARGET + '[undocumented]\nignore_headers = ["x-a\\r\\n"]\n',
        ["defaults.toml:4: undocumented.ignore_headers[[]1[]]: * is not a header name*"],
    ),
    # types whose coercion would change the meaning
    "secure = 1": (
        TARGET + '[[cookie]]\nname = "session"\npath = "/login"\nsecure = 1\n',
        ["defaults.toml:6: cookie[[]1[]].secure (session): Input should be a valid boolean (got 1)"],
    ),
    "secure = 'yes'": (
        TARGET + '[[cookie]]\nname = "session"\npath = "/login"\nsecure = "yes"\n',
        ["defaults.toml:6: cookie[[]1[]].secure (session): Input should be a valid boolean (got 'yes')"],
    ),
    "absent = 1": (
        TARGET + '[[header]]\nname = "Server"\nabsent = 1\n',
        ["defaults.toml:5: header[[]1[]].absent (Server): Input should be a valid boolean (got 1)"],
    ),
    "status 413.0": (
        TARGET + '[[upload]]\nname = "avatar"\npath = "/u"\nmax_bytes = 10\nover_limit_status = 413.0\n',
        ["defaults.toml:7: upload[[]1[]].over_limit_status (avatar): Input should be a valid integer (got 413.0)"],
    ),
    "latency budget inf": (
        TARGET + '[[health_check]]\npath = "/healthz"\nmax_ms = inf\n',
        ["defaults.toml:5: health_check[[]1[]].max_ms (/healthz): Input should be a finite number"],
    ),
    "latency budget nan": (
        TARGET + '[[health_check]]\npath = "/healthz"\nmax_ms = nan\n',
        ["defaults.toml:5: health_check[[]1[]].max_ms (/healthz): Input should be a finite number"],
    ),
    # [target].uvicorn, against the installed uvicorn, whatever the mode
    "uvicorn option misspelt": (
        TARGET + "uvicorn = { proxy_header = true }\n",
        ["defaults.toml:3: target.uvicorn.proxy_header: not a uvicorn option; did you mean 'proxy_headers'?"],
    ),
    "uvicorn option the plugin sets": (
        TARGET + 'uvicorn = { host = "0.0.0.0" }\n',
        ["defaults.toml:3: target.uvicorn.host: cannot be set: the plugin binds 127.0.0.1 on a free port*"],
    ),
    "uvicorn log level unknown": (
        TARGET + 'uvicorn = { log_level = "loud" }\n',
        ["defaults.toml:3: target.uvicorn.log_level: 'loud' is not a log level; uvicorn knows critical, error, *"],
    ),
    "uvicorn protocol unknown": (
        TARGET + 'uvicorn = { http = "h3" }\n',
        ["defaults.toml:3: target.uvicorn.http: 'h3' cannot be used: *; uvicorn knows auto, h11, httptools*"],
    ),
    "uvicorn number that is text": (
        TARGET + 'uvicorn = { limit_concurrency = "many" }\n',
        ["defaults.toml:3: target.uvicorn.limit_concurrency: 'many' is not what uvicorn takes here (*int*"],
    ),
    "uvicorn flag that is a number": (
        TARGET + "uvicorn = { proxy_headers = 1 }\n",
        ["defaults.toml:3: target.uvicorn.proxy_headers: 1 is not what uvicorn takes here (*bool*"],
    ),
    "uvicorn TLS file missing": (
        TARGET + 'uvicorn = { ssl_certfile = "certs/missing.pem" }\n',
        ["defaults.toml:3: target.uvicorn.ssl_certfile: no such file: */certs/missing.pem"],
    ),
}


@pytest.mark.parametrize("toml, expected", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("project", ["asgi", "server"], indirect=True)
def test_a_value_the_manifest_cannot_mean_is_a_usage_error(project: Project, toml: str, expected: list[str]) -> None:
    project.app("raise RuntimeError('the app is never imported for an unusable manifest')\n")
    usage_error(project, toml, expected)

"""Shared baselines: extends, bundled profiles, and many manifests in one run."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import QUIET, Project

EXAMPLES = Path(__file__).parent.parent / "examples"

HEADERS_APP = """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    HEADERS = {HEADERS!r}
    app = FastAPI()

    @app.get("/")
    def index():
        return JSONResponse({}, headers=HEADERS)
"""


BASELINE = """
[service]
owner = "platform-team"

[[header]]
name = "Strict-Transport-Security"
equals = "max-age=63072000; includeSubDomains"
why = "HTTPS only"

[[header]]
name = "X-Frame-Options"
equals = "DENY"
why = "no framing"
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def headers_app(project: Project, headers: dict[str, str], folder: str = "svc", name: str = "app") -> None:
    write(project.path / folder / f"{name}.py", HEADERS_APP.replace("{HEADERS!r}", repr(headers)))


def test_inherited_entries_apply_and_failures_name_the_base_file_and_line(project: Project) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    headers_app(project, {"Strict-Transport-Security": "max-age=1"})
    write(project.path / "svc" / "defaults.toml", '[target]\napp = "app:app"\n' + QUIET)
    (project.path / "svc" / "defaults.toml").write_text(
        'extends = ["../platform/baseline.toml"]\n[target]\napp = "app:app"\n' + QUIET, encoding="utf-8"
    )
    result = project.run("--defaults-file", "svc/defaults.toml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "header Strict-Transport-Security on /: documented 'max-age=63072000; includeSubDomains',"
            " live 'max-age=1' (GET / answered 200)",
            "  why:      HTTPS only",
            "  owner:    platform-team",
            "  manifest: platform/baseline.toml:5",
        ]
    )


def test_same_identity_replaces_the_inherited_entry(project: Project) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    headers_app(project, {"Strict-Transport-Security": "max-age=300", "X-Frame-Options": "DENY"})
    write(
        project.path / "svc" / "defaults.toml",
        """
        extends = ["../platform/baseline.toml"]

        [target]
        app = "app:app"

        [[header]]
        name = "strict-transport-security"
        equals = "max-age=600"
        why = "staging only keeps HSTS short"
        """
        + QUIET,
    )
    result = project.run("--defaults-file", "svc/defaults.toml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "header strict-transport-security on /: documented 'max-age=600', live 'max-age=300'*",
            "  why:      staging only keeps HSTS short",
            "  manifest: svc/defaults.toml:7",
        ]
    )


def test_skip_waives_an_inherited_entry_and_the_failure_after_expiry_says_where_it_came_from(
    project: Project,
) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    headers_app(project, {"Strict-Transport-Security": "max-age=63072000; includeSubDomains"})
    waiver = """
        extends = ["../platform/baseline.toml"]

        [target]
        app = "app:app"

        [[header]]
        name = "X-Frame-Options"
        skip = "partner portal frames us"
        until = UNTIL
        """
    write(project.path / "svc" / "defaults.toml", waiver.replace("UNTIL", "2999-01-01") + QUIET)
    result = project.run("--defaults-file", "svc/defaults.toml")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * partner portal frames us (waived until 2999-01-01)"])

    write(project.path / "svc" / "defaults.toml", waiver.replace("UNTIL", "2001-01-01") + QUIET)
    result = project.run("--defaults-file", "svc/defaults.toml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "header X-Frame-Options on /: documented 'DENY', live missing (GET / answered 200)",
            "  waiver expired on 2001-01-01: partner portal frames us",
            "  why:      no framing",
            "  manifest: svc/defaults.toml:7",
            "  inherited from: platform/baseline.toml:10",
        ]
    )


def test_settings_tables_merge_key_by_key(project: Project) -> None:
    write(project.path / "base.toml", "[settings]\ndebug = false\ndocs_url = false\n")
    project.app("from fastapi import FastAPI\napp = FastAPI(docs_url=None)\n")
    project.manifest('extends = ["base.toml"]\n[target]\napp = "app:app"\n[settings]\ndocs_url = "/docs"\n' + QUIET)
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["setting docs_url: documented '/docs', live None*", "  manifest: defaults.toml:5"])


def test_extends_cycle_is_a_usage_error_naming_the_chain(project: Project) -> None:
    write(project.path / "a.toml", 'extends = ["b.toml"]\n')
    write(project.path / "b.toml", 'extends = ["a.toml"]\n')
    project.manifest('extends = ["a.toml"]\n[target]\napp = "app:app"\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["b.toml:1: extends: extends cycle: defaults.toml → a.toml → b.toml → a.toml"])


def test_missing_base_is_a_usage_error(project: Project) -> None:
    project.manifest('version = 1\nextends = ["platform/nope.toml"]\n[target]\napp = "app:app"\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["defaults.toml:2: extends: 'platform/nope.toml' (defaults.toml → platform/nope.toml): no such file"]
    )


def test_errors_inside_a_base_name_the_base_file(project: Project) -> None:
    write(project.path / "base.toml", '[[header]]\nname = "X-A"\nequls = "b"\n')
    project.manifest('extends = ["base.toml"]\n[target]\napp = "app:app"\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["base.toml:3: header[[]1[]].equls (X-A): unknown key 'equls'; did you mean 'equals'?"])


def test_unknown_profile_lists_the_bundled_ones(project: Project) -> None:
    project.manifest('extends = ["profile:owasp"]\n[target]\napp = "app:app"\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "defaults.toml:1: extends: unknown profile 'profile:owasp'; bundled profiles:"
            " profile:observatory, profile:owasp-api, profile:owasp-secure-headers"
        ]
    )


OWASP_API = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
OWASP_SECURE_HEADERS = {
    "Cache-Control": "no-store, max-age=0",
    "Clear-Site-Data": '"cache","cookies","storage"',
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'none';"
    " upgrade-insecure-requests; block-all-mixed-content",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), display-capture=(),"
    " encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), magnetometer=(),"
    " microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(),"
    " screen-wake-lock=(), sync-xhr=(self), usb=(), web-share=(), xr-spatial-tracking=(), clipboard-read=(),"
    " clipboard-write=(), gamepad=(), hid=(), idle-detection=(), interest-cohort=(), serial=(), unload=()",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "deny",
    "X-Permitted-Cross-Domain-Policies": "none",
}
OBSERVATORY = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=15768000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Resource-Policy": "same-site",
}

PROFILES = {
    "owasp-api": (OWASP_API, {"X-Frame-Options": "SAMEORIGIN"}, "header X-Frame-Options on /:*"),
    "owasp-secure-headers": (
        OWASP_SECURE_HEADERS,
        {"X-Powered-By": "Express"},
        "header X-Powered-By on /: documented absent, live 'Express'*",
    ),
    "observatory": (
        OBSERVATORY,
        {"Strict-Transport-Security": "max-age=15767999"},
        "header Strict-Transport-Security on /: documented matching *, live 'max-age=15767999'*",
    ),
}


@pytest.mark.parametrize("profile", list(PROFILES))
def test_app_following_a_bundled_profile_passes(project: Project, profile: str) -> None:
    follows, _, _ = PROFILES[profile]
    project.app(HEADERS_APP.replace("{HEADERS!r}", repr(follows)))
    project.manifest(f'extends = ["profile:{profile}"]\n[target]\napp = "app:app"\n' + QUIET)
    result = project.run()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert result.parseoutcomes()["passed"] >= 6


@pytest.mark.parametrize("profile", list(PROFILES))
def test_app_breaking_a_bundled_profile_fails_that_entry_with_its_source(project: Project, profile: str) -> None:
    follows, breaks, headline = PROFILES[profile]
    project.app(HEADERS_APP.replace("{HEADERS!r}", repr({**follows, **breaks})))
    project.manifest(f'extends = ["profile:{profile}"]\n[target]\napp = "app:app"\n' + QUIET)
    result = project.run()
    result.assert_outcomes(failed=1, passed=result.parseoutcomes()["passed"])
    result.stdout.fnmatch_lines([headline, "  docs: *", f"  manifest: profile:{profile}:*"])


def test_many_manifests_in_one_run_each_with_its_own_target(project: Project) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    for service, hsts in (("orders", "max-age=63072000; includeSubDomains"), ("billing", "max-age=1")):
        headers_app(
            project,
            {"Strict-Transport-Security": hsts, "X-Frame-Options": "DENY"},
            folder=f"services/{service}",
            name="app",  # the same module name in both services
        )
        write(
            project.path / "services" / service / "defaults.toml",
            f'extends = ["../../platform/baseline.toml"]\n[service]\nname = "{service}"\n'
            '[target]\napp = "app:app"\n' + QUIET,
        )
    project.pytester.makeini("[pytest]\ndefaults_file = services/*/defaults.toml\n")
    result = project.run("--defaults-report", "report.json")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED services/billing/defaults.toml::header:X-Frame-Options[[]/[]]",
            "PASSED services/orders/defaults.toml::header:Strict-Transport-Security[[]/[]]",
            "PASSED services/orders/defaults.toml::header:X-Frame-Options[[]/[]]",
            "FAILED services/billing/defaults.toml::header:Strict-Transport-Security[[]/[]]*",
        ]
    )
    report = (project.path / "report.json").read_text()
    assert '"id": "services/billing/defaults.toml::header:Strict-Transport-Security[/]"' in report
    assert '"inherited": "platform/baseline.toml:5"' in report


def test_defaults_file_is_repeatable_and_a_glob_matching_nothing_is_a_usage_error(project: Project) -> None:
    headers_app(project, {"X-Frame-Options": "DENY"}, folder=".")
    for name in ("one.toml", "two.toml"):
        write(
            project.path / name,
            '[target]\napp = "app:app"\n[[header]]\nname = "X-Frame-Options"\nequals = "DENY"\n' + QUIET,
        )
    result = project.run("--defaults-file", "one.toml", "--defaults-file", "two.toml")
    result.assert_outcomes(passed=2)
    result = project.run("--defaults-file", "nothing/*.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: no defaults manifest matches 'nothing/[*].toml'*"])


@pytest.fixture
def monorepo(project: Project) -> Project:
    for item in (EXAMPLES / "monorepo").iterdir():
        if item.is_dir():
            shutil.copytree(item, project.path / item.name)
        else:
            shutil.copy(item, project.path / item.name)
    return project


def test_monorepo_example_passes_in_one_run(monorepo: Project) -> None:
    result = monorepo.run()
    assert result.ret == 0
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] == 2  # billing waives the inherited X-Frame-Options on its two paths
    result.stdout.fnmatch_lines(["SKIPPED * the partner portal frames /invoices*(waived until 2027-06-30)"])


def test_a_drift_in_the_baseline_fails_every_service_at_the_baseline_line(monorepo: Project) -> None:
    baseline = monorepo.path / "platform" / "baseline.toml"
    baseline.write_text(baseline.read_text().replace('equals = "nosniff"', 'equals = "sniff"'))
    result = monorepo.run()
    assert result.ret == 1
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert {line.split("::")[0] for line in failed} == {
        "FAILED services/orders/defaults.toml",
        "FAILED services/billing/defaults.toml",
    }
    assert all("header:X-Content-Type-Options" in line for line in failed)
    result.stdout.fnmatch_lines(["  manifest: platform/baseline.toml:19", "  owner:    platform-team"])


def test_a_drift_in_one_service_fails_only_its_items(monorepo: Project) -> None:
    main = monorepo.path / "services" / "orders" / "orders_api" / "main.py"
    main.write_text(main.read_text().replace('    response.headers["X-Frame-Options"] = "DENY"\n', ""))
    result = monorepo.run()
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert len(failed) == 2
    assert all(line.startswith("FAILED services/orders/defaults.toml::header:X-Frame-Options") for line in failed)
    result.stdout.fnmatch_lines(["  manifest: platform/baseline.toml:25"])

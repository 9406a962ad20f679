"""What was captured, written as the manifest ``prod-defaults init`` saves.

Commented TOML for the person who fills it in: ``[service]`` and
``[target]``, then each kind's section as the kind writes it
(:meth:`~pytest_prod_defaults.checks.CheckKind.write`, with the
:class:`~pytest_prod_defaults.manifest_text.ManifestWriter`), and with
``--extends`` only what differs from the bases, as the
:class:`~pytest_prod_defaults.captured.Inheritance` says. Apart from the
probing so the text can change without touching how the app is asked; it
never names a kind. Nothing here knows pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .manifest_text import ManifestWriter

if TYPE_CHECKING:
    from .captured import Captured
    from .checks import CheckKind

__all__ = ["ManifestWriter", "write_manifest"]


def write_head(out: ManifestWriter, captured: Captured[CheckKind]) -> None:
    """What the manifest is, ``extends``, and ``[service]`` and ``[target]``."""
    request = captured.request
    inheritance = captured.inheritance
    out.comment(
        f"Production defaults of {captured.service_name}, as the live app showed them to `prod-defaults init`.",
        "Each value is what the app did when it was captured: keep what you mean to promise, tighten",
        "what is too loose, delete what is not a default, and fill in why, owner and rollback (the TODOs).",
        "Then `pytest --check-defaults` checks every entry against the live app.",
    )
    out.key("version", 1)
    if request.extends:
        out.key("extends", list(request.extends), "the bases: only what differs from them is written below")
    if inheritance and inheritance.kept:
        out.listed("Inherited and holding against the app as captured, so not repeated here", inheritance.kept)

    out.table("service")
    out.key("name", captured.service_name)
    out.key("owner", "", "TODO: who decides these defaults? Entries without an owner fall back to this")

    out.table("target")
    out.key("app", request.app)
    if request.app_dir:
        out.key("app_dir", request.app_dir, "where the app is imported from, relative to this file")
    if request.host:
        out.key("host", request.host)
    paths_comment = "probed for headers and for undocumented headers"
    for probed in captured.probed:
        paths_comment += f"; {', '.join(probed.paths)} {probed.why}"
    out.key("paths", captured.paths, paths_comment)
    out.commented_key("env", {"APP_ENV": "production"}, "set before the app is imported, as production runs it")
    out.comment(
        "answered when captured: " + ", ".join(f"{path} {status}" for path, status in captured.statuses.items())
    )


def write_manifest(captured: Captured[CheckKind]) -> str:
    """The manifest of what was captured, as commented TOML; with
    ``--extends``, only what differs from the bases. The kinds that document
    defaults write first, in manifest order; then the inherited defaults
    waived with a TODO; then the tables that say how the checks run."""
    out = ManifestWriter()
    write_head(out, captured)
    kinds = captured.kinds
    for kind in kinds:
        if kind.documents_defaults:
            kind.write(out, captured.items.get(kind.key), captured)
    inheritance = captured.inheritance
    if inheritance and inheritance.amendments:
        out.section("inherited defaults that do not hold: waived until someone decides")
        for amendment in inheritance.amendments:
            out.amendment(amendment)
    for kind in kinds:
        if not kind.documents_defaults:
            kind.write(out, captured.items.get(kind.key), captured)
    return out.text()

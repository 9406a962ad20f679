"""pytest-prod-defaults: documented production defaults of a FastAPI (or any
ASGI) service, checked as pytest items.

Importing this package stays cheap: the public names below load their
modules on first use, so the pytest entry point costs nothing when the
plugin is installed but not asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BaseKind": "checks",
    "CaptureContext": "captured",
    "Captured": "captured",
    "Check": "checks",
    "CheckKind": "checks",
    "DocumentedHeader": "checks",
    "Drift": "outcomes",
    "Finding": "outcomes",
    "NotApplicable": "outcomes",
    "TargetUnavailable": "outcomes",
    "Undocumented": "outcomes",
    "Entry": "model",
    "Manifest": "manifest",
    "ManifestError": "manifest",
    "ManifestWriter": "manifest_text",
    "load_manifest": "manifest",
    "ProbeRequest": "probes",
    "ProbeResponse": "probes",
    "Reads": "probes",
    "Target": "target",
    "hookimpl": "hookspecs",
}

__all__ = [  # noqa: RUF022 - grouped as _EXPORTS is
    "__version__",
    "BaseKind",
    "CaptureContext",
    "Captured",
    "Check",
    "CheckKind",
    "DocumentedHeader",
    "Drift",
    "Finding",
    "NotApplicable",
    "TargetUnavailable",
    "Undocumented",
    "Entry",
    "Manifest",
    "ManifestError",
    "ManifestWriter",
    "load_manifest",
    "ProbeRequest",
    "ProbeResponse",
    "Reads",
    "Target",
    "hookimpl",
]

if TYPE_CHECKING:
    from .captured import CaptureContext, Captured
    from .checks import (
        BaseKind,
        Check,
        CheckKind,
        DocumentedHeader,
        Drift,
        Finding,
        NotApplicable,
        TargetUnavailable,
        Undocumented,
    )
    from .hookspecs import hookimpl
    from .manifest import Manifest, ManifestError, load_manifest
    from .manifest_text import ManifestWriter
    from .model import Entry
    from .probes import ProbeRequest, ProbeResponse, Reads
    from .target import Target


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_prod_defaults' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)

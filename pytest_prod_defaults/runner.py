"""One manifest, its target and its checks: what a pytest session or the
``prod-defaults`` command runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import Check, CheckKind
from .manifest import Manifest, load_manifest
from .target import Target


@dataclass
class DefaultsRun:
    manifest: Manifest
    target: Target
    _checks: list[Check] | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        path: str | Path,
        kinds: Iterable[CheckKind],
        target_overrides: Mapping[str, Any] | None = None,
    ) -> DefaultsRun:
        manifest = load_manifest(path, kinds, target_overrides=target_overrides)
        return cls(manifest, Target(manifest.target, manifest.root))

    def checks(self) -> list[Check]:
        """Every check of the manifest, in manifest order within each kind
        (built once: collection and the report both read them)."""
        if self._checks is None:
            found: list[Check] = []
            for key, kind in self.manifest.kinds.items():
                for entry in self.manifest.entries(key):
                    found.extend(kind.checks(entry, self.manifest))
            self._checks = found
        return self._checks

    def close(self) -> None:
        self.target.close()

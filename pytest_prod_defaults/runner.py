"""One manifest, its target and its checks: what a pytest session or the
``prod-defaults`` command runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .checks import Check, CheckKind
from .manifest import Manifest, load_manifest
from .target import CacheMiss, Target


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
        run = cls(manifest, Target(manifest.target, manifest.root, manifest.redact))
        # Asked when the first text is shown, in whichever process shows it:
        # an xdist worker that never ran a config item hides its secrets too.
        manifest.redact.add_source(run.known_secrets)
        return run

    def known_secrets(self) -> list[str]:
        """The secrets the kinds know of (the config object's), each read
        as its kind's checks read it."""
        self.target.ready_for_secrets()
        found: list[str] = []
        for key, kind in self.manifest.kinds.items():
            for entry in self.manifest.entries(key):
                try:
                    found.extend(kind.secrets(entry, self.target))
                except Exception:  # the kind's own checks say why it cannot read them
                    continue
        return found

    def checks(self) -> list[Check]:
        """Every check of the manifest, in manifest order within each kind
        (built once: collection and the report both read them)."""
        if self._checks is None:
            found: list[Check] = []
            for key, kind in self.manifest.kinds.items():
                for entry in self.manifest.entries(key):
                    found.extend(kind.checks(entry, self.manifest))
            self._checks = distinct_ids(found)
        return self._checks

    def holds_from_cache(self, check: Check) -> bool:
        """Whether ``check`` holds, judged only from what the target has
        already answered: ``False`` when it drifts, finds something, cannot
        run, or would have to import, start or call the target.

        No I/O happens, so the caller may report the pass without the
        ceremony a request needs (output capture, log capture); anything
        else runs ``check`` again the ordinary way, to the same answer.
        """
        if not check.reads_only_target:
            return False
        target = self.target
        target.cached_only = True
        try:
            return not any(True for _ in check.run(target) or ())
        except (Exception, CacheMiss):
            return False
        finally:
            target.cached_only = False

    def close(self, hurry: bool = False) -> None:
        self.target.close(hurry)


def distinct_ids(checks: Iterable[Check]) -> list[Check]:
    """``checks`` with every item id told apart: a later check whose id an
    earlier one has (two ``[[cookie]]`` entries for one cookie set by two
    paths, two uploads to one path) is named ``<name>:2``, ``:3``... in
    manifest order, the same in every process. One id per item keeps pytest
    (``--lf``, xdist, JUnit) and the reports counting the same items."""
    taken: set[str] = set()
    distinct: list[Check] = []
    for check in checks:
        named, number = check, 1
        while named.id in taken:
            number += 1
            named = replace(check, name=f"{check.name}:{number}")
        taken.add(named.id)
        distinct.append(named)
    return distinct

"""One manifest, its target and its checks: what a pytest session or the
``prod-defaults`` command runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from .checks import Check, CheckKind
from .manifest import Manifest, load_manifest
from .outcomes import Finding
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
        run = cls(manifest, Target(manifest.target, manifest.root, manifest.redact))
        # Asked when the first text is shown, in whichever process shows it:
        # an xdist worker that never ran a config item hides its secrets too.
        manifest.redact.add_source(run.known_secrets)
        # The thread that opens the run runs its checks and imports the app:
        # not the main thread in an xdist worker that runs its tests on another.
        manifest.redact.ask_on_this_thread()
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

    def run_check(self, check: Check) -> list[Finding]:
        """Run ``check`` once: one that declares what it reads
        (:attr:`Check.reads`) against a read-only view of that, fetched
        first; any other against the target itself. Returns its findings,
        raises what it ends in."""
        if check.reads is None:
            return list(check.run(self.target) or ())
        # The view offers the reading half of the target's interface: all a
        # check that declares its reads may use.
        return list(check.run(cast("Target", self.target.view(check.reads))) or ())

    def reaches_the_app(self, check: Check) -> bool:
        """Whether running ``check`` may run the app's code or send a
        request: not when everything it declares it reads is here already."""
        return check.reads is None or not self.target.holds(check.reads)

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

"""Serve a manifest's app under uvicorn on 127.0.0.1 until stdin closes,
printing the base URL: the "deployed service" of URL-mode tests.

    python serve_target.py defaults.toml
"""

from __future__ import annotations

import sys

from pytest_prod_defaults.manifest import ManifestError, load_manifest
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager
from pytest_prod_defaults.target import Target

UNUSABLE_MANIFEST = 4


def main(path: str) -> None:
    kinds = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
    try:
        manifest = load_manifest(path, kinds, target_overrides={"mode": "server"})
    except ManifestError:
        sys.exit(UNUSABLE_MANIFEST)
    target = Target(manifest.target, manifest.root)
    try:
        target.app()  # imports the app and starts uvicorn
        print(target.base_url, flush=True)
        sys.stdin.read()
    finally:
        target.close()


if __name__ == "__main__":
    main(sys.argv[1])

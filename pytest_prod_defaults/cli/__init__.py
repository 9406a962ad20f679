"""The ``prod-defaults`` command (also ``python -m pytest_prod_defaults``):
capture a live app into a manifest (all of it, or what differs from the bases
it extends), render a manifest, a base or a bundled profile as Markdown, list
the bundled profiles, print the manifest's JSON Schema. It reuses the
pytest-free core and never imports pytest.

One module per command (:mod:`.init`, :mod:`.docs`, :mod:`.profiles`,
:mod:`.schema`), each adding its own subparser; :mod:`.common` holds what
they share, :mod:`.main` puts them together."""

from __future__ import annotations

from .common import Progress
from .main import build_parser, main

__all__ = ["Progress", "build_parser", "main"]

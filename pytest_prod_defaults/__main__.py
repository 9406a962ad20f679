"""``python -m pytest_prod_defaults``: the ``prod-defaults`` command."""

from .cli import main

raise SystemExit(main())

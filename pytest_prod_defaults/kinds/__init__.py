"""The built-in check kinds, one module each. Every module registers its kind
through the :func:`~pytest_prod_defaults.hookspecs.pytest_prod_defaults_kinds`
hook, exactly as a third-party plugin would."""

BUILTIN_KIND_MODULES = (
    "pytest_prod_defaults.kinds.header",
    "pytest_prod_defaults.kinds.cookie",
    "pytest_prod_defaults.kinds.health_check",
    "pytest_prod_defaults.kinds.upload",
    "pytest_prod_defaults.kinds.cache_rule",
    "pytest_prod_defaults.kinds.settings",
    "pytest_prod_defaults.kinds.middleware",
    "pytest_prod_defaults.kinds.config",
    "pytest_prod_defaults.kinds.undocumented",
)

"""A small shop API: the service examples/defaults.toml documents."""

"""``prod-defaults profiles``: the bundled profiles a manifest can extend,
each with its title, source and date, and what it documents."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_CODES, EXIT_OK, FORMATTER, load, load_kinds


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], plugins: argparse.ArgumentParser) -> None:
    profiles = commands.add_parser(
        "profiles",
        help="list the bundled profiles a manifest can extend",
        description="List the bundled profiles, each with its title, the source it follows and that source's"
        ' date. Extend one with `extends = ["profile:NAME"]`; read it with `prod-defaults docs profile:NAME`.',
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
    )
    profiles.set_defaults(handler=run_profiles, parser=profiles)


def run_profiles(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..docs import own_profile
    from ..extends import PROFILE_PREFIX, PROFILES_DIR, bundled_profiles

    kinds = load_kinds(parser, [])
    blocks = []
    for name in bundled_profiles():
        path = PROFILES_DIR / f"{name}.toml"
        manifest = load(path, kinds, require_target=False)
        profile = own_profile(path)
        lines = [f"{PROFILE_PREFIX}{name}"]
        if profile is not None and profile.title:
            lines.append(f"  {profile.title}")
        if profile is not None and (profile.source or profile.date):
            dated = f" (as of {profile.date.isoformat()})" if profile.date else ""
            lines.append(f"  source: {profile.source or 'not given'}{dated}")
        counts = [
            f"{len(manifest.entries(key))} [[{key}]]" if kind.many else f"[{key}]"
            for key, kind in manifest.kinds.items()
            if manifest.entries(key) and manifest.line_of(key) is not None
        ]
        lines.append(f"  defaults: {', '.join(counts) or 'none'}")
        blocks.append("\n".join(lines))
    sys.stdout.write("\n\n".join(blocks) + "\n")
    sys.stdout.write(
        '\nExtend one with `extends = ["profile:NAME"]` (or `prod-defaults init --extends profile:NAME`);'
        " read one with `prod-defaults docs profile:NAME`.\n"
    )
    return EXIT_OK

"""Property-based tests of the parsers a manifest goes through.

Any TOML document, and any text at all, loads into a :class:`Manifest` or
fails with a :class:`ManifestError`: never another exception, which pytest
would show as INTERNALERROR. A manifest that loads also yields its checks.
Sizes and Cache-Control values parse, or say why not, for any input.

``PROD_DEFAULTS_EXAMPLES`` sets the examples per property (default 200);
before a release, run ``PROD_DEFAULTS_EXAMPLES=5000 pytest tests/test_manifest_properties.py``.
"""

from __future__ import annotations

import datetime
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
import tomli_w
from hypothesis import HealthCheck, Phase, event, example, find, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from pytest_prod_defaults.cache_control import (
    cache_control_problems,
    describe_difference,
    missing_from_vary,
    parse_cache_control,
    parse_vary,
    shared_cache_may_store,
    uncacheable_by_shared_cache,
)
from pytest_prod_defaults.manifest import Manifest, ManifestError, load_manifest, manifest_model
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager
from pytest_prod_defaults.set_cookie import cookie_names, parse_set_cookie, split_set_cookie
from pytest_prod_defaults.sizes import UNITS, format_size, parse_size

EXAMPLES = int(os.environ.get("PROD_DEFAULTS_EXAMPLES", "200"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
KINDS = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
ENVIRON = {"SHOP_TOKEN": "tok-123", "EMPTY": "", "HOST": "api.shop.example"}


# -- TOML values, and manifests shaped like the model ------------------------

# Values the validators branch on: paths, app references, sizes, enum members,
# regexes, statuses, media types, environment references, near-misses of each.
PATHS_AND_REFERENCES = ["", " ", "/", "/api/items", "api/items", "/static/app.js?v=1", "defaults.toml"]
APP_REFERENCES = ["app:app", "app:create_app()", "app", "shop.main:app", ":app", "app:", "shop_config:settings"]
SIZES = ["1 MiB", "64KiB", "1.5 kib", "1 TB", "-1 KiB", "0", "1.001 KB", "lots", "100 bytes"]
ENUM_MEMBERS = ["asgi", "server", "url", "lambda", "auto", "on", "off", "fail", "warn", "loud", "strict", "lax"]
MORE_MEMBERS = ["none", "Lax", "sometimes", "raw", "multipart", "base64", "GET", "POST", "PO ST", "get"]
MEDIA_AND_REGEXES = ["application/json", "json", "text/html; charset=utf-8", "^[0-9a-f]{32}$", "([a-z"]
HEADERS = ["max-age=300", 'no-cache="set-cookie', "no-store", "X Token", "Set-Cookie", "Authorization", "session id"]
ENVIRONMENT = ["Bearer ${SHOP_TOKEN}", "${SHOP_TOKEN}", "${NOT_SET_ANYWHERE}", "${EMPTY}", "${", "$SHOP_TOKEN"]
URLS_AND_CLASSES = ["http://testserver", "https://${HOST}", "ftp://x", "http://", "CORSMiddleware", "secret_key"]
OTHERS = ["profile:owasp-api", "profile:nope", "../defaults.toml", "2030-01-01", "next week", "line\nbreak", "nul\x00"]
INTERESTING_STRINGS = [
    *PATHS_AND_REFERENCES,
    *APP_REFERENCES,
    *SIZES,
    *ENUM_MEMBERS,
    *MORE_MEMBERS,
    *MEDIA_AND_REGEXES,
    *HEADERS,
    *ENVIRONMENT,
    *URLS_AND_CLASSES,
    *OTHERS,
    "caf\u00e9",
    "\U0001f600",
]
INTERESTING_INTEGERS = [0, 1, 2, -1, 99, 100, 200, 413, 599, 600, 4130, 2**31, 2**63 - 1, -(2**63)]

toml_keys = st.one_of(st.sampled_from(["name", "value", "why", "paths", "app", "x"]), st.text(max_size=12))
toml_scalars = st.one_of(
    st.sampled_from(INTERESTING_STRINGS),
    st.text(max_size=30),
    st.sampled_from(INTERESTING_INTEGERS),
    st.integers(),
    st.booleans(),
    st.floats(),
    st.dates(),
    # TOML offsets are whole minutes; historic zones (Africa/Abidjan in 1912) are not.
    st.datetimes(
        timezones=st.sampled_from([None, datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=-5))])
    ),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(toml_keys, inner, max_size=4)),
    max_leaves=12,
)


def _misspelt(key: str) -> st.SearchStrategy[str]:
    """``key`` with one letter dropped, doubled or upper-cased: the typos
    "did you mean" is for."""
    return st.integers(0, max(len(key) - 1, 0)).flatmap(
        lambda i: st.sampled_from([key[:i] + key[i + 1 :], key[:i] + key[i] * 2 + key[i + 1 :], key.upper()])
    )


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` → ``X``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


# Plausible values by key, so that many generated manifests load and their
# checks get built: a manifest of nothing but typos tests only the errors.
PATHS = ["/", "/api/items", "/static/app.js", "/catalog?preview=1", "/login"]
PLAUSIBLE: dict[str, list[Any]] = {
    "version": [1],
    "app": ["app:app", "app:create_app()", "shop.main:app"],
    "object": ["shop_config:settings"],
    "base_url": ["http://testserver", "https://${HOST}", "http://127.0.0.1:8000"],
    "host": ["api.shop.example"],
    "path": PATHS,
    "paths": [PATHS[:1], PATHS],
    "cached": [PATHS[1:3]],
    "not_cached": [PATHS[3:4]],
    "max_bytes": ["1 MiB", "64 KiB", 1024, "2KB", 0],
    "method": ["GET", "POST", "put"],
    "name": ["X-Frame-Options", "session", "avatar", "static assets"],
    "equals": ["DENY"],
    "contains": [["default-src 'self'"], "nosniff"],
    "matches": ["^[0-9a-f]{32}$"],
    "absent": [True],
    "cache_control": ["public, max-age=31536000, immutable", "no-store", "private"],
    "vary": [["Accept-Encoding"]],
    "cookies": [["session"]],
    "query": [["preview"]],
    "content_type": ["application/json", "text/plain; charset=utf-8"],
    "class": ["CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"],
    "headers": [{"Authorization": "Bearer ${SHOP_TOKEN}"}, {"X-Env": "${HOST}"}, ["Authorization"]],
    "secrets": [["secret_key"]],
    "values": [{"pool_size": 10}],
    "status": [200, 204],
    "over_limit_status": [413],
    "timeout": [5.0, 0.5],
    "samples": [1, 5],
    "max_ms": [250],
    "extends": [[], ["profile:owasp-secure-headers"], "profile:nope"],
    "skip": ["waived while we migrate"],
    "until": [datetime.date(2030, 1, 1)],
}


def shaped(annotation: Any, depth: int = 0, key: str = "", wild: bool = True) -> st.SearchStrategy[Any]:
    """Values for a key of this annotation: of its shape (so validators deep
    inside get reached) and, when ``wild``, sometimes anything at all."""
    if depth >= 6:
        return toml_values
    annotation = _strip(annotation)
    of_shape = _of_shape(annotation, depth, wild)
    if wild:
        return st.one_of(of_shape, toml_values)
    if key in PLAUSIBLE and typing.get_origin(annotation) is not Literal:
        plausible = st.sampled_from(PLAUSIBLE[key])
        return st.one_of(plausible, plausible, plausible, of_shape)
    return of_shape


def _of_shape(annotation: Any, depth: int, wild: bool) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [shaped(arg, depth + 1, wild=wild) for arg in args if arg is not type(None)]
        return st.one_of(members or [toml_values])
    if origin is Literal:
        return st.one_of(st.sampled_from(args), st.sampled_from(args).map(str.upper)) if wild else st.sampled_from(args)
    if origin in (list, tuple, set, frozenset):
        return st.lists(shaped(args[0] if args else Any, depth + 1, wild=wild), max_size=3)
    if origin is dict:
        inner = shaped(args[1] if len(args) > 1 else Any, depth + 1, wild=wild)
        return st.dictionaries(toml_keys, inner, max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return table_of(annotation, depth + 1, wild)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.one_of(st.sampled_from(INTERESTING_INTEGERS), st.integers())
    if annotation is float:
        return st.one_of(st.floats(), st.integers(-10, 10))
    if annotation is str:
        return st.one_of(st.sampled_from(INTERESTING_STRINGS), st.text(max_size=20))
    if annotation is datetime.date:
        return st.one_of(st.dates(), st.datetimes(), st.sampled_from(INTERESTING_STRINGS))
    return toml_values


def table_of(model: type[BaseModel], depth: int = 0, wild: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A TOML table for ``model``: its required keys (when not ``wild``) and
    any subset of the others; when ``wild``, now and then a misspelt or
    unknown key."""
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    required = {} if wild else {k: shaped(f.annotation, depth, k, wild) for k, f in fields.items() if f.is_required()}
    optional = {k: shaped(f.annotation, depth, k, wild) for k, f in fields.items() if k not in required}
    known = st.fixed_dictionaries(required, optional=optional)
    if not wild:
        return known
    unknown_key = st.one_of(st.sampled_from(sorted(fields)).flatmap(_misspelt), toml_keys) if fields else toml_keys
    extra = st.dictionaries(unknown_key, toml_values, max_size=2)
    return st.tuples(known, st.one_of(st.just({}), extra)).map(lambda pair: {**pair[1], **pair[0]})


MANIFEST_MODEL = manifest_model(KINDS)
manifests = table_of(MANIFEST_MODEL)
plausible_manifests = table_of(MANIFEST_MODEL, wild=False).map(
    lambda document: (
        {**document, "target": {"app": "app:app", **document["target"]}}
        if isinstance(document.get("target"), dict)
        else document
    )
)


@pytest.fixture(scope="module")
def manifest_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties") / "defaults.toml"


def load(path: Path) -> Manifest | ManifestError:
    """The manifest, or the usage error pytest would show: anything else escapes."""
    try:
        manifest = load_manifest(path, KINDS, environ=ENVIRON)
    except ManifestError as error:
        assert error.problems, "a ManifestError names at least one problem"
        for problem in error.problems:
            assert problem.message.strip(), problem
            assert problem.file, problem
        assert "Traceback" not in str(error)
        assert ENVIRON["SHOP_TOKEN"] not in str(error), "a value read from the environment is never shown"
        return error
    # Collection must not crash either: that would be an INTERNALERROR too.
    for key, kind in manifest.kinds.items():
        for entry in manifest.entries(key):
            for check in kind.checks(entry, manifest):
                assert check.id.startswith(f"{check.kind}:")
    return manifest


@PROPERTY
@given(document=st.one_of(manifests, plausible_manifests))
@example(document={"target": {"app": "app:app", "headers": {"Authorization": "Bearer ${SHOP_TOKEN}"}}})
@example(document={"target": {"app": "app:app", "headers": {"X Token": "${SHOP_TOKEN}\n"}}})
@example(document={"version": True, "target": {"app": "app:app"}})
@example(document={"target": {"mode": "url", "base_url": "ftp://${SHOP_TOKEN}"}})
@example(document={"target": {"app": "app:app"}, "upload": [{"path": "/u", "max_bytes": "9" * 400 + " KiB"}]})
@example(document={"target": {"app": "app:app"}, "header": [{"name": "X-A", "equals": "a", "absent": True}]})
def test_any_toml_document_loads_or_is_a_usage_error(manifest_file: Path, document: dict[str, Any]) -> None:
    manifest_file.write_text(tomli_w.dumps(document), encoding="utf-8")
    loaded = load(manifest_file)
    event("loaded" if isinstance(loaded, Manifest) else ("problems" if len(loaded.problems) > 1 else "problem"))
    if isinstance(loaded, Manifest):
        assert "target" in document


# Lines as people (and their editors) get them wrong.
toml_lines = st.one_of(
    st.sampled_from(["[target]", "[[header]]", "[[upload]]", "[settings]", "[undocumented]", "[[target]]", "["]),
    st.tuples(
        st.one_of(st.sampled_from([f.alias or n for n, f in MANIFEST_MODEL.model_fields.items()]), toml_keys),
        st.one_of(
            toml_values.map(lambda v: tomli_w.dumps({"v": v})[4:].rstrip("\n")),
            st.sampled_from(['"', "'''", "[1, ", "{a = 1", "true", "0x", "1979-05-27", "inf", "[" * 100]),
            st.text(max_size=10),
        ),
    ).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.text(max_size=40),
)


@PROPERTY
@given(text=st.one_of(st.text(), st.lists(toml_lines, max_size=12).map("\n".join)))
@example(text="a = " + "[" * 5000 + "]" * 5000)
@example(text="a = " + "{b = " * 3000 + "1" + "}" * 3000)
@example(text="version = " + "1" * 5000)
@example(text="version = 0x" + "f" * 4000 + '\n[target]\napp = "app:app"\n')
@example(text='\ufeff[target]\napp = "app:app"\n')
def test_any_text_loads_or_is_a_usage_error(manifest_file: Path, text: str) -> None:
    manifest_file.write_text(text, encoding="utf-8", errors="surrogatepass")
    load(manifest_file)


@PROPERTY
@given(data=st.binary(max_size=200))
@example(data=b'[target]\napp = "app:app"\n# caf\xe9\n')
@example(data=b"\xff\xfe[\x00t\x00")
def test_any_bytes_load_or_are_a_usage_error(manifest_file: Path, data: bytes) -> None:
    manifest_file.write_bytes(data)
    load(manifest_file)


def test_deep_but_parseable_nesting_is_a_usage_error_not_a_crash(manifest_file: Path) -> None:
    for depth in (50, 200, 400, 800):
        nested = "[" * depth + "]" * depth
        manifest_file.write_text(f'[target]\napp = "app:app"\n[config]\nobject = "c:s"\nvalues = {{ x = {nested} }}\n')
        load(manifest_file)


# -- sizes ------------------------------------------------------------------

anything = st.one_of(
    st.text(),
    st.text(alphabet="0123456789.- kKmMgGiIbByte\t", max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dates(),
)


@PROPERTY
@given(value=anything)
@example(value="9" * 5000)
@example(value="1e309 B")
@example(value="\u0661\u0660 B")
def test_parse_size_answers_a_size_or_a_value_error(value: object) -> None:
    try:
        size = parse_size(value)
    except ValueError as error:
        assert str(error)
        assert len(str(error)) < 200, "the message quotes a long value cut short"
        return
    assert isinstance(size, int)
    assert size >= 0


@PROPERTY
@given(size=st.one_of(st.integers(0, 2**70), st.integers(0, 64).map(lambda e: 2**e), st.integers(0, 4096)))
def test_parse_size_reads_back_what_format_size_writes(size: int) -> None:
    written = format_size(size)
    if " + 1 byte" in written:
        assert parse_size(written.removesuffix(" + 1 byte")) + 1 == size
    else:
        assert parse_size(written) == size
    assert parse_size(str(size)) == size == parse_size(size)


@PROPERTY
@given(
    count=st.integers(0, 10**12),
    unit=st.sampled_from(sorted(UNITS)),
    case=st.sampled_from([str.upper, str.lower, str.title]),
    space=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_every_unit_in_any_case_and_spacing(count: int, unit: str, case: Callable[[str], str], space: str) -> None:
    assert parse_size(f"{space}{count}{space}{case(unit)}{space}") == count * UNITS[unit]


@PROPERTY
@given(size=st.integers(0, 10**15), decimals=st.integers(1, 3), unit=st.sampled_from(["KB", "MB", "GB"]))
def test_decimal_sizes_are_exact(size: int, decimals: int, unit: str) -> None:
    factor = UNITS[unit]
    whole, rest = divmod(size, factor)
    written = f"{whole}.{str(rest).rjust(len(str(factor)) - 1, '0')}{'0' * decimals} {unit}"
    assert parse_size(written) == size


def test_sizes_that_used_to_go_wrong() -> None:
    assert parse_size("1.001 KB") == 1001  # was "not a whole number of bytes": floats
    assert parse_size("9007199254740993 B") == 9007199254740993  # was one byte off: floats
    assert parse_size("100 bytes") == 100  # as format_size and failures write it
    with pytest.raises(ValueError, match=r"a size cannot be negative \(got '-1 KiB'\)"):
        parse_size("-1 KiB")
    with pytest.raises(ValueError, match="is too large to be a size"):
        parse_size("9" * 400 + " KiB")  # was OverflowError
    with pytest.raises(ValueError, match="is not a size"):
        parse_size("\u0661\u0660 B")  # Arabic-Indic digits


# -- Cache-Control and Set-Cookie: every function on any header text ---------

header_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.one_of(
            st.sampled_from(["public", "private", "no-store", "no-cache", "max-age", "s-maxage", "immutable"]),
            st.text(alphabet='abcdefghijklmnopqrstuvwxyz-=",; 0123456789\\', max_size=15),
        ),
        max_size=6,
    ).map(", ".join),
)


@PROPERTY
@given(documented=st.lists(header_text, max_size=3), live=st.lists(header_text, max_size=3))
def test_cache_control_analysis_of_several_lines_never_raises(documented: list[str], live: list[str]) -> None:
    # test_cache_control.py covers one line of any text; headers arrive as several.
    ours, theirs = parse_cache_control(*documented), parse_cache_control(*live)
    assert all(isinstance(problem, str) for problem in cache_control_problems(ours))
    assert isinstance(describe_difference(ours, theirs), str)
    assert uncacheable_by_shared_cache(theirs) == (shared_cache_may_store(theirs) is None)
    vary = parse_vary(*live)
    assert set(missing_from_vary(vary, documented)) <= set(documented)


@PROPERTY
@given(values=st.lists(header_text, max_size=3))
def test_set_cookie_parsing_never_raises(values: list[str]) -> None:
    for value in split_set_cookie(values):
        parse_set_cookie(value)
    assert isinstance(cookie_names(values), list)


def _has(document: Any, path: tuple[str | int, ...]) -> bool:
    for part in path:
        if isinstance(part, int):
            if not isinstance(document, list) or not document:
                return False
            document = document[0]
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return False
    return True


@pytest.mark.parametrize(
    "path",
    [
        ("target", "headers"),
        ("header", 0, "matches"),
        ("upload", 0, "max_bytes"),
        ("cookie", 0, "same_site"),
        ("cache_rule", 0, "bypass", "cookies"),
        ("undocumented", "headers"),
        ("settings", "why"),
    ],
)
def test_the_generated_documents_reach_deep_keys(path: tuple[str | int, ...]) -> None:
    """Guard on the strategies: the properties above do reach these keys."""
    search = settings(
        max_examples=5000, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    for documents in (manifests, plausible_manifests):
        find(documents, lambda document: _has(document, path), settings=search)


@pytest.mark.parametrize(
    "value",
    [-(10**300), "1 " + "\x00" * 300, "\x00" * 300 + " XB", "-" + "9" * 500, "1 " + "é" * 300],
    ids=["huge negative int", "escaped unit", "escaped value", "huge negative text", "long unit"],
)
def test_a_size_error_quotes_a_long_value_cut_short(value: object) -> None:
    # Found by hypothesis: a negative int was quoted whole, and a value cut
    # before quoting grew fourfold once its escapes were written out.
    with pytest.raises(ValueError) as raised:
        parse_size(value)
    assert len(str(raised.value)) < 120

"""The Cache-Control parser and the shared-cache verdict, without pytest sessions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_prod_defaults.cache_control import (
    TOKEN_CHARACTERS,
    CacheControl,
    Directive,
    cache_control_problems,
    describe_difference,
    format_cache_control,
    format_directive,
    missing_from_vary,
    parse_cache_control,
    parse_vary,
    shared_cache_may_store,
    uncacheable_by_shared_cache,
)


def parsed(*lines: str) -> CacheControl:
    return parse_cache_control(*lines)


# -- parsing ---------------------------------------------------------------


def test_directives_are_lower_case_names_with_unquoted_values() -> None:
    cache_control = parsed('Public, Max-Age=300, community="UCI"')
    assert cache_control.directives == (
        Directive("public"),
        Directive("max-age", "300"),
        Directive("community", "UCI"),
    )
    assert cache_control.malformed == ()


@pytest.mark.parametrize(
    "variant",
    [
        "public, max-age=300",
        "max-age=300, public",
        "PUBLIC,MAX-AGE=300",
        '  public ,  max-age="300"  ',
        "public,, max-age=300,",
        "max-age = 300, public",
        "max-age=0300, public",
    ],
)
def test_order_case_spacing_quoting_and_leading_zeros_do_not_matter(variant: str) -> None:
    assert parsed(variant) == parsed("public, max-age=300")


def test_several_field_lines_combine_into_one_list() -> None:
    assert parsed("public", "max-age=300") == parsed("public, max-age=300")


def test_field_lines_are_parsed_apart_so_an_open_quote_cannot_swallow_the_next() -> None:
    cache_control = parsed('private="set-cookie', "no-store")
    assert cache_control.directives == (Directive("no-store"),)
    assert cache_control.malformed == ('private="set-cookie',)


def test_commas_inside_quoted_strings_do_not_split() -> None:
    cache_control = parsed('no-cache="Set-Cookie, X-Token", max-age=0')
    assert cache_control.directives == (Directive("no-cache", "set-cookie, x-token"), Directive("max-age", "0"))


def test_field_name_lists_compare_as_sets_of_case_insensitive_names() -> None:
    assert parsed('private="X-Token, Set-Cookie"') == parsed('private="set-cookie,x-token"')


def test_values_other_than_numbers_and_field_names_keep_their_case() -> None:
    assert parsed("community=UCI") != parsed("community=uci")


def test_escaped_characters_in_quoted_strings_are_unescaped() -> None:
    assert parsed(r'ext="a\"b\\c"').directives == (Directive("ext", 'a"b\\c'),)


@pytest.mark.parametrize(
    "fragment",
    ["no store", "max-age=", "max-age=3 00", 'ext="unterminated', 'ext="a"b"', r'ext="ends with \"', "=300", "ü"],
)
def test_what_is_not_a_directive_is_kept_as_malformed(fragment: str) -> None:
    cache_control = parsed(f"public, {fragment}")
    assert cache_control.directives == (Directive("public"),)
    assert cache_control.malformed == (fragment,)
    assert cache_control != parsed("public")


def test_exact_repeats_are_dropped_and_order_received_is_kept() -> None:
    cache_control = parsed("max-age=300, public, max-age=300, max-age=0")
    assert cache_control.directives == (Directive("max-age", "300"), Directive("public"), Directive("max-age", "0"))
    assert cache_control.seconds("max-age") == 300


def test_seconds_reads_numbers_only_and_caps_huge_values() -> None:
    assert parsed("max-age=abc").seconds("max-age") is None
    assert parsed("max-age").seconds("max-age") is None
    assert parsed("public").seconds("max-age") is None
    assert parsed("max-age=" + "9" * 5000).seconds("max-age") == 2**31


def test_format_is_canonical_and_quotes_only_what_needs_it() -> None:
    canonical = format_cache_control(parsed('Max-Age="300", PUBLIC, private="b, A"'))
    assert canonical == 'max-age=300, private="a, b", public'
    assert format_directive(Directive("ext", 'say "hi"')) == r'ext="say \"hi\""'
    assert str(parsed("immutable")) == "immutable"


# -- documented values -----------------------------------------------------


def test_a_clean_documented_value_has_no_problems() -> None:
    assert cache_control_problems(parsed("public, max-age=31536000, immutable")) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ("public, no store", "cannot parse 'no store'"),
        ("max-age=soon", "max-age needs a number of seconds (got 'max-age=soon')"),
        ("s-maxage", "s-maxage needs a number of seconds (got 's-maxage')"),
        ("max-age=1, max-age=2", "max-age is given 2 times with different values"),
    ],
)
def test_documented_value_problems(value: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in cache_control_problems(parsed(value)))


# -- differences -------------------------------------------------------------


def test_difference_names_differing_missing_and_undocumented_directives() -> None:
    documented = parsed("public, max-age=31536000, immutable")
    live = parsed("public, max-age=3600, no-transform")
    assert describe_difference(documented, live) == "max-age differs; immutable missing; no-transform not documented"


def test_difference_names_unparseable_live_fragments() -> None:
    assert describe_difference(parsed("no-store"), parsed("no-store, no cache")) == "unparseable 'no cache'"


# -- uncacheable by a shared cache -----------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "no-store",
        "public, max-age=300, no-store",
        "private",
        "private, max-age=300",
        "no-cache",
        "max-age=0",
        "public, max-age=0",
        "max-age=0, must-revalidate, stale-while-revalidate=60",
        "max-age=600, s-maxage=0",
        "max-age=0, s-maxage=0, stale-if-error=60",
        "max-age=0, s-maxage=soon",
        "max-age=0, max-age=300",
        'no-cache="set-cookie", private',
    ],
)
def test_uncacheable_by_shared_cache(value: str) -> None:
    assert uncacheable_by_shared_cache(parsed(value))
    assert shared_cache_may_store(parsed(value)) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "needs no-store, private, no-cache or max-age=0"),
        ("public", "needs no-store, private, no-cache or max-age=0"),
        ("public, max-age=300", "max-age=300 lets a shared cache keep it for 300 s"),
        ("max-age=0, s-maxage=60", "s-maxage=60 lets a shared cache keep it for 60 s"),
        ("max-age=300, max-age=0", "max-age=300 lets a shared cache keep it for 300 s"),
        ("max-age=0, stale-while-revalidate=30", "stale-while-revalidate=30 lets a shared cache serve it stale"),
        ("max-age=0, stale-if-error=86400", "stale-if-error=86400 lets a shared cache serve it stale"),
        ('private="Set-Cookie", max-age=300', 'private="set-cookie" keeps only the named fields out of a shared cache'),
        ('no-cache="Set-Cookie"', 'no-cache="set-cookie" keeps only the named fields out of a shared cache'),
        ("max-age=soon", "needs no-store, private, no-cache or max-age=0"),
    ],
)
def test_why_a_shared_cache_may_store_it(value: str, reason: str) -> None:
    assert shared_cache_may_store(parsed(value)) == reason
    assert not uncacheable_by_shared_cache(parsed(value))


# -- Vary --------------------------------------------------------------------


def test_vary_names_are_a_case_insensitive_set_and_star_covers_all() -> None:
    vary = parse_vary("Accept-Encoding", "cookie, Origin")
    assert vary == frozenset({"accept-encoding", "cookie", "origin"})
    assert missing_from_vary(vary, ["Cookie", "accept-encoding"]) == []
    assert missing_from_vary(vary, ["Accept-Language", "Cookie"]) == ["Accept-Language"]
    assert missing_from_vary(parse_vary("*"), ["Cookie"]) == []
    assert missing_from_vary(parse_vary(), ["Cookie"]) == ["Cookie"]


# -- properties --------------------------------------------------------------

tokens = st.text(alphabet=sorted(TOKEN_CHARACTERS), min_size=1, max_size=12)
quotable = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
names = st.one_of(
    tokens,
    st.sampled_from(["max-age", "s-maxage", "no-cache", "private", "public", "no-store", "immutable"]),
)
directives = st.builds(Directive, names, st.none() | tokens | quotable)
whitespace = st.text(alphabet=" \t", max_size=2)


@given(st.text())
def test_parsing_never_raises_on_any_string(text: str) -> None:
    cache_control = parse_cache_control(text)
    shared_cache_may_store(cache_control)
    cache_control_problems(cache_control)
    describe_difference(cache_control, parse_cache_control(text[::-1]))
    parse_vary(text)


@given(st.lists(st.text(), max_size=4))
def test_parsing_several_lines_never_raises(lines: list[str]) -> None:
    parse_cache_control(*lines)


@given(st.text())
def test_format_then_parse_round_trips_the_directives_of_any_string(text: str) -> None:
    cache_control = parse_cache_control(text)
    again = parse_cache_control(format_cache_control(cache_control))
    assert again == CacheControl(cache_control.directives)
    assert format_cache_control(again) == format_cache_control(cache_control)


@given(st.lists(directives, max_size=6))
def test_format_then_parse_round_trips(written: list[Directive]) -> None:
    cache_control = parse_cache_control(", ".join(format_directive(d) for d in written))
    assert cache_control.malformed == ()
    assert parse_cache_control(format_cache_control(cache_control)) == cache_control


@given(st.lists(directives, max_size=6), st.data())
def test_order_case_spacing_and_quoting_do_not_change_the_value(written: list[Directive], data: st.DataObject) -> None:
    canonical = parse_cache_control(", ".join(format_directive(d) for d in written))
    shuffled = data.draw(st.permutations(written))
    elements = []
    for directive in shuffled:
        name = "".join(c.upper() if data.draw(st.booleans()) else c for c in directive.name)
        element = name
        if directive.value is not None:
            value = format_directive(Directive("x", directive.value))[2:]
            if not value.startswith('"') and data.draw(st.booleans()):
                value = f'"{value}"'
            element = f"{name}{data.draw(whitespace)}={data.draw(whitespace)}{value}"
        elements.append(data.draw(whitespace) + element + data.draw(whitespace))
    separator = data.draw(st.sampled_from([",", ", ", " ,", ",,", " , "]))
    assert parse_cache_control(separator.join(elements)) == canonical
    split = data.draw(st.integers(0, len(elements)))
    assert parse_cache_control(", ".join(elements[:split]), ", ".join(elements[split:])) == canonical

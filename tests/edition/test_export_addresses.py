"""A build's addresses of documents and revisions (`sources.site_path`) are what `reverse`
gives, whatever the id, number, slug, script prefix or URLconf."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from edition.exporting.sources import site_path

IDS = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True),
    st.text(min_size=1, max_size=8),  # anything: reverse quotes or refuses it, so must this
)
SLUGS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)


def _both(view, args):
    try:
        expected = reverse(view, args=args)
    except NoReverseMatch:
        expected = NoReverseMatch
    try:
        got = site_path(view, *args)
    except NoReverseMatch:
        got = NoReverseMatch
    return got, expected


@hsettings(max_examples=300, deadline=None)
@given(slug=SLUGS, xml_id=IDS, number=st.one_of(st.integers(-5, 2_000_000_000)))
def test_same_as_reverse(slug, xml_id, number):
    got, expected = _both("edition:document", [slug, xml_id])
    assert got == expected
    got, expected = _both("edition:revision", [slug, xml_id, number])
    assert got == expected


def test_stand_ins_in_the_slug_fall_back_to_reverse():
    slug = "emenddocslot-987654321"
    for args in ([slug, "d1"], [slug, "d1", 987654321]):
        view = "edition:document" if len(args) == 2 else "edition:revision"
        assert site_path(view, *args) == reverse(view, args=args)
    assert site_path("edition:document", "x", "emendDocSlot") == reverse(
        "edition:document", args=["x", "emendDocSlot"])


def test_script_prefix_and_urlconf_are_followed():
    before = site_path("edition:revision", "frus", "d12", 3)
    set_script_prefix("/sub/")
    try:
        assert site_path("edition:revision", "frus", "d12", 3) == "/sub" + before
        assert site_path("edition:document", "frus", "d12") == reverse(
            "edition:document", args=["frus", "d12"])
    finally:
        set_script_prefix("/")
    with override_settings(ROOT_URLCONF="tests.edition.urls_elsewhere"):
        assert site_path("edition:document", "frus", "d12") == "/elsewhere/frus/d12/"
        assert site_path("edition:document", "frus", "d12") == reverse(
            "edition:document", args=["frus", "d12"])
    assert site_path("edition:revision", "frus", "d12", 3) == before


@pytest.mark.parametrize("number", [True, 3.0, "3"])
def test_numbers_of_other_types_go_to_reverse(number):
    got, expected = _both("edition:revision", ["frus", "d1", number])
    assert got == expected

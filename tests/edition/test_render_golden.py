"""Every renderer gives, byte for byte, what it gave before it was made faster.

tests/edition/golden/render_digests.json holds the SHA-256 of each renderer's output for every
unit of the samples (/work/shared/samples: the excerpt with d143 from its plain text, the volume
with front matter) and of a 60-document synthetic volume (bench/synth.py), and of each format's
volume file, as the code gave them before the renderers were optimised (written from commit
46680c5 with EMEND_WRITE_GOLDEN=1). A change that alters any output fails here: if the change is
meant, bump the format's VERSION (or RENDER_VERSION) and write the digests again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from bench.synth import synthetic_volume
from edition.exporting import annotations, epub, html as html_export, pdfhtml, sources, tei, text
from edition.imports import import_text, import_tei
from edition.rendering import links_for, local_editions
from edition.tei import local_name, squash_space
from edition.tei.plaintext import render_plaintext
from edition.tei.render import render_html
from tests.helpers import D143_TEXT, SAMPLES

GOLDEN = Path(__file__).parent / "golden" / "render_digests.json"
BUILT_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SOURCES = ["excerpt", "front-matter", "synthetic"]


def _digest(value: str | bytes | dict) -> str:
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str):
        value = value.encode("utf-8")
    return hashlib.sha256(value).hexdigest()


def _import(source: str, tmp_path: Path):
    if source == "excerpt":
        edition = import_tei(SAMPLES / "frus1958-60v18-excerpt.xml").edition
        import_text(D143_TEXT, edition=edition)
        return edition
    if source == "front-matter":
        return import_tei(SAMPLES / "frus1958-60v18-with-front-matter.xml").edition
    path = tmp_path / "synthetic.xml"
    path.write_bytes(synthetic_volume(60))
    return import_tei(path).edition


def _digests(edition) -> dict[str, str]:
    vol = sources.load_volume(edition)
    vol.built_at = BUILT_AT
    links = links_for(edition, local_editions())
    out: dict[str, str] = {}
    with sources.scratch():  # every piece rendered here, none read from a cache
        for part in vol.parts:
            revision = part.revision
            pieces = {
                "reading": render_html(revision.element, links=links),
                "plaintext": render_plaintext(revision.element),
                "layer": revision.text,
                "html": html_export.article(part),
                "txt": text.document_text(part),
                "json": annotations.document_fragment(part),
                "epub": epub.chapter(part),
                "pdf": pdfhtml.article(part),
                "tei": tei.standalone(part),
            }
            for name, value in pieces.items():
                out[f"{part.xml_id}:{name}"] = _digest(value)
        for name, module in [("html", html_export), ("txt", text), ("json", annotations),
                             ("epub", epub), ("tei", tei)]:
            out[f"volume:{name}"] = _digest(module.volume(vol))
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("source", SOURCES)
def test_renderers_give_the_recorded_bytes(source, tmp_path):
    got = _digests(_import(source, tmp_path))
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("EMEND_WRITE_GOLDEN"):
        golden[source] = got
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        pytest.skip("digests written")
    expected = golden[source]
    assert len(expected) > 20
    changed = sorted(key for key in expected.keys() | got.keys()
                     if expected.get(key) != got.get(key))
    assert not changed, f"{len(changed)} outputs differ from the recorded ones: {changed[:12]}"


@given(st.text(alphabet=st.sampled_from(" \t\r\n\xa0\u2003ab\u0301"), max_size=40))
def test_squash_space_is_the_xml_whitespace_regex(text):
    assert squash_space(text) == re.sub(r"[ \t\r\n]+", " ", text)


def test_local_name_of_elements_comments_and_instructions():
    root = etree.fromstring('<a xmlns="urn:x"><b/><!-- c --><?pi d?><e:f xmlns:e="urn:e"/></a>')
    assert [local_name(el) for el in root.iter()] == ["a", "b", "", "", "f"]
    assert [local_name(el) for el in root.iter()] == ["a", "b", "", "", "f"]  # from the memo

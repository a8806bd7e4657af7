"""Exports of revisions as files: TEI now; the other formats build on the same pieces."""

from __future__ import annotations

from lxml import etree

from .models import Edition, Revision
from .tei import FRUS_NS, TEI_NS, XML_ID, tei
from .tei.parsing import parse_fragment


def document_tei(edition: Edition, revision: Revision) -> bytes:
    """A standalone TEI file: the volume's header and one document's revision in `text/body`."""
    root = etree.Element(tei("TEI"), nsmap={None: TEI_NS, "frus": FRUS_NS})
    root.set(XML_ID, f"{edition.slug}-{revision.document.xml_id}")
    root.append(parse_fragment(edition.tei_header))
    body = etree.SubElement(etree.SubElement(root, tei("text")), tei("body"))
    body.append(parse_fragment(revision.tei))
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=False)

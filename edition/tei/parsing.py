"""Safe XML parsing: no DTDs, no entity expansion, no network, bounded size.

FRUS files never need a DTD, so any DOCTYPE is refused outright rather than half-trusted.
"""

from __future__ import annotations

from lxml import etree

from . import TEI_NS


class TEIError(ValueError):
    """Input that is not acceptable TEI; the message is meant for the person who supplied it."""


def safe_parser(**extra) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        **extra,
    )


def parse_fragment(xml: str | bytes) -> etree._Element:
    """Parse one element (a stored document `div`, a note, a structural fragment).

    Raises TEIError for malformed XML or any DOCTYPE / entity declaration.
    """
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        root = etree.fromstring(xml, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise TEIError(f"not well-formed XML: {exc}") from exc
    refuse_doctype(root.getroottree())
    return root


def refuse_doctype(tree: etree._ElementTree) -> None:
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise TEIError(
            "the file declares a DOCTYPE; DTDs and entity declarations are refused "
            "(FRUS TEI needs none, and they can be used for entity-expansion attacks)"
        )


def parse_document_div(xml: str | bytes) -> etree._Element:
    """Parse a stored document: a TEI `div` element in the TEI namespace."""
    root = parse_fragment(xml)
    if root.tag != f"{{{TEI_NS}}}div":
        raise TEIError(f"expected a TEI <div>, found <{etree.QName(root).localname}>")
    return root

"""TEI handling that needs no database: parsing, the text layer, rendering, plain text.

Everything here works on lxml elements of one FRUS document (`div type="document"`) and is a
pure function of its input, which is what lets rendered output be cached per revision.
"""

TEI_NS = "http://www.tei-c.org/ns/1.0"
FRUS_NS = "http://history.state.gov/frus/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_ID = f"{{{XML_NS}}}id"
NSMAP = {"tei": TEI_NS, "frus": FRUS_NS}


def tei(name: str) -> str:
    """Clark name of a TEI element: tei("p") == "{http://www.tei-c.org/ns/1.0}p"."""
    return f"{{{TEI_NS}}}{name}"


def local_name(element) -> str:
    """The element's name without namespace; '' for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]

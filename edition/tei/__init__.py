"""TEI handling that needs no database: parsing, the text layer, rendering, plain text.

Everything here works on lxml elements of one FRUS document (`div type="document"`) and is a
pure function of its input, which is what lets rendered output be cached per revision.
"""

import re
import unicodedata
from functools import lru_cache

TEI_NS = "http://www.tei-c.org/ns/1.0"
FRUS_NS = "http://history.state.gov/frus/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_ID = f"{{{XML_NS}}}id"
NSMAP = {"tei": TEI_NS, "frus": FRUS_NS}


def tei(name: str) -> str:
    """Clark name of a TEI element: tei("p") == "{http://www.tei-c.org/ns/1.0}p"."""
    return f"{{{TEI_NS}}}{name}"


# Clark name (or the Comment/PI factory lxml gives as their tag) → local name. The renderers ask
# hundreds of times per document and a volume uses a few dozen names; bounded all the same.
_LOCAL_NAMES: dict[object, str] = {}


def local_name(element) -> str:
    """The element's name without namespace; '' for comments and processing instructions."""
    tag = element.tag
    try:
        return _LOCAL_NAMES[tag]
    except KeyError:
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < 4096:
            _LOCAL_NAMES[tag] = name
        return name


# A run of XML whitespace that is not already a single space: a single space (most of the
# whitespace in a text node) is left alone instead of being replaced by itself.
_SQUASHABLE = re.compile(r" [ \t\r\n]+|[\t\r\n][ \t\r\n]*")


def squash_space(text: str) -> str:
    """Each run of XML whitespace as one space: `re.sub(r"[ \\t\\r\\n]+", " ", text)`, in about
    half the time (the renderers and the text layer do it to every text node)."""
    return _SQUASHABLE.sub(" ", text)


def collapse(text: str) -> str:
    """One TEI text node as the reader sees it: XML whitespace runs → one space, NFC. Memoised
    for short text: the text layer and both renderers each collapse every text node of a
    revision, and indentation repeats throughout a volume. Long text is not kept (the memo
    stays a few megabytes at most)."""
    if len(text) > 1000:
        return _collapse(text)
    return _collapse_short(text)


def _collapse(text: str) -> str:
    return unicodedata.normalize("NFC", squash_space(text))


_collapse_short = lru_cache(maxsize=2048)(_collapse)

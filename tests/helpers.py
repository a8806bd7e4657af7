"""Small builders shared by the tests."""

from functools import cache

from django.conf import settings
from lxml import etree

from edition.tei import FRUS_NS, TEI_NS, XML_ID

# Where settings find them (EMEND_SAMPLES_DIR; by default shared/samples beside the checkout).
SAMPLES = settings.EMEND_SAMPLES_DIR
EXCERPT = SAMPLES / "frus1958-60v18-excerpt.xml"
D143_TEXT = SAMPLES / "frus1958-60v18-d143-plaintext.txt"


@cache
def _sample_tree() -> etree._ElementTree:
    return etree.parse(str(EXCERPT))


def sample_document(xml_id: str) -> etree._Element:
    """A fresh copy of one document div of the sample excerpt."""
    for element in _sample_tree().iter(f"{{{TEI_NS}}}div"):
        if element.get(XML_ID) == xml_id:
            return etree.fromstring(etree.tostring(element))
    raise LookupError(xml_id)


def volume_tei(body: str, *, slug: str = "vol1", front: str = "", back: str = "") -> str:
    """A small TEI volume: a header, then `front`, `body` and `back` as given."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="{TEI_NS}" xmlns:frus="{FRUS_NS}" xml:id="{slug}">
  <teiHeader><fileDesc><titleStmt><title type="complete">A Volume</title></titleStmt>
  <publicationStmt><publisher>GPO</publisher></publicationStmt>
  <sourceDesc><p>test</p></sourceDesc></fileDesc></teiHeader>
  <text>{f"<front>{front}</front>" if front else ""}<body>{body}</body>{f"<back>{back}</back>" if back else ""}</text>
</TEI>"""


def document_tei(n: int, extra: str = "", attrs: str = "") -> str:
    """A document div numbered `n` (id `d<n>`) for `volume_tei`."""
    return (f'<div type="document" xml:id="d{n}" n="{n}"{attrs}><head>{n}. Telegram</head>'
            f"<p>Text {n}.</p>{extra}</div>")


def make_member(edition, username: str, role: str | None, **extra):
    """A user with `role` in `edition` (None: an account outside the edition)."""
    from django.contrib.auth import get_user_model

    from edition.models import Membership

    user = get_user_model().objects.create_user(
        username, email=f"{username}@example.org", password="pw-" + username * 2, **extra
    )
    if role:
        Membership.objects.create(edition=edition, user=user, role=role)
    return user


def text_spec(revision, exact: str, replacement: str, *, occurrence: int = 0, kind: str = "text"):
    """A ChangeSpec replacing the `occurrence`-th `exact` in the revision's text layer."""
    from review.actions.propose import ChangeSpec

    start = -1
    for _ in range(occurrence + 1):
        start = revision.text.index(exact, start + 1)
    return ChangeSpec(kind, start, start + len(exact), replacement, exact=exact)


def revise(document, old: str, new: str):
    """A new revision of `document` with the first `old` in its TEI replaced, as an approval
    makes one (without a proposal)."""

    document.refresh_from_db()
    tei = document.current_revision.tei
    assert old in tei, f"{old!r} is not in {document.xml_id}"
    return document.add_revision(tei.replace(old, new, 1), by=None, summary="test")


def many_blocks(n: int, word: str = "said") -> str:
    """TEI of n top-level blocks as editors write them: inline markup, a footnote every 20
    blocks, a page break every 100, a list every 50, some closing tags on a line of their own;
    `word` varies the text (and the page breaks' ids)."""
    blocks = []
    for i in range(n):
        if i % 100 == 99:
            blocks.append(f'<pb n="{i}" xml:id="pg_{word}{i}"/>')
        elif i % 50 == 49:
            blocks.append(f"<list><item>Item {i} {word}.</item><item>More.\n</item></list>")
        elif i % 20 == 19:
            blocks.append(f"<p>Block {i} {word} this.<note>On {i}.</note>\n</p>")
        else:
            blocks.append(f'<p>Block {i} <hi rend="italic">{word}</hi> a thing.\n</p>')
    return "\n".join(blocks)


def token_client(user):
    """A DRF test client that authenticates as `user` with an API token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def signed_in(user):
    """A test client signed in as `user` (no password, no sign-in page)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client

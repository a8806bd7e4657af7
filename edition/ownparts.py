"""A proposer's own parts of a unit's reading page, cached: the propose bar (the unit's open
proposals), the tools and the suggestions, with what the page's ETag says of them, so that an
editor's page is read from the cache like anyone's (issue 14, item 3).

They are the same for every proposer of the edition (nothing of the person: the CSRF token in
the suggestions' forms is a marker filled in per page, `TOKEN`), and kept under two stamps:

- the **unit's** (`unit_key`, by document id): dropped by every write that changes what the
  parts show of it — a proposal saved or deleted (opened, edited, retargeted, withdrawn,
  approved, rejected: review/apps.py connects `forget_proposal`), a change saved or deleted
  one by one, a suggestion saved (dismissed) or deleted (the checks and the OCR replace their
  open ones with a queryset delete, which sends the signal per row), suggestions created in
  bulk (`forget` called by edition/checks/run.py, edition/imports.py, edition/ocr/record.py),
  and a new revision (`Document.add_revision`: the rebase and re-anchoring of the open
  proposals, bulk updates, happen in its transaction);
- the **edition's** (`edition_key`): dropped when the edition is saved (the checks it turns
  off are not offered).

A stamp is a random value made when missing (`cache.add`), before the database is read: a
drop, made now and again on commit (`Document.retire`), leaves nothing stored from the old
state reachable. The entry also names the revision it was read on and the reading stamps
(`views.reading_stamps`), and is used only when the page shows that revision. A drop lost to an
unreachable cache leaves an entry readable for at most `OWN_TTL`; the proposing actions never
read it (they ask the database).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

OWN_TTL = 5 * 60


def unit_key(document_id: int) -> str:
    return f"emend:ownstamp:unit:{document_id}"


def edition_key(edition_id: int) -> str:
    return f"emend:ownstamp:edition:{edition_id}"


def entry_key(version: int, document_id: int) -> str:
    return f"emend:own:{version}:{document_id}"


def token_marker() -> str:
    """Where the reader's CSRF token goes in the cached suggestions: the same in every process
    of a deployment, and no text a unit or a suggestion could contain by design (it is derived
    from the secret key)."""
    digest = hashlib.sha256(f"emend-own-token:{settings.SECRET_KEY}".encode()).hexdigest()
    return f"emendtoken{digest[:24]}"


@dataclass(frozen=True)
class Own:
    stamps: tuple  # (unit stamp, edition stamp, the reading stamps' values)
    revision_id: int
    etag_parts: tuple  # what views._reading_view puts in the ETag: offers' pks, review's state
    bar: str
    tools: str
    suggestions: str  # with `token_marker()` for the token


def read(version: int, document_id: int, edition_id: int, values: tuple) -> tuple[tuple, Own | None]:
    """The current stamps (made when missing) and the entry stored under them, if any."""
    keys = [unit_key(document_id), edition_key(edition_id), entry_key(version, document_id)]
    found = cache.get_many(keys)
    made = False
    for key in keys[:2]:
        if key not in found:
            cache.add(key, secrets.token_hex(8), OWN_TTL)
            made = True
    if made:  # another process may have made it first: theirs is the one kept
        found |= cache.get_many(keys[:2])
    stamps = (found.get(keys[0]), found.get(keys[1]), values)
    entry = found.get(keys[2])
    if None in stamps[:2] or not isinstance(entry, Own) or entry.stamps != stamps:
        return stamps, None
    return stamps, entry


def keep(version: int, document_id: int, own: Own) -> None:
    if None not in own.stamps[:2]:
        cache.set(entry_key(version, document_id), own, OWN_TTL)


def forget(document_ids) -> None:
    from .models import Document  # this module is imported by the models' users

    keys = [unit_key(pk) for pk in set(document_ids)]
    if keys:
        Document.retire(keys)


def forget_edition(sender, instance, **kwargs) -> None:
    from .models import Document

    Document.retire([edition_key(instance.pk)])


def forget_document_of(sender, instance, **kwargs) -> None:
    """post_save / post_delete of a row with a `document_id` (a suggestion, a proposal)."""
    if instance.document_id is not None:
        forget([instance.document_id])

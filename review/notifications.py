"""Telling authors what happened to their proposals (e-mail; the console backend by default).

Mail goes out after the transaction commits, so a rolled-back decision sends nothing, and a
mail failure is logged, never raised into the decision.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from .actions import full_stop

log = logging.getLogger(__name__)


def _send(proposal, subject: str, body: str) -> None:
    recipient = proposal.author.email
    if not recipient:
        return
    url = f"{settings.EMEND_SITE_URL}{proposal.get_absolute_url()}"

    def send() -> None:
        try:
            send_mail(f"[Emend] {subject}", f"{body}\n\n{url}\n", None, [recipient])
        except Exception:  # SMTP failures of every kind: the decision stands regardless
            log.warning("could not mail %s about proposal %s", recipient, proposal.pk,
                        exc_info=True)

    transaction.on_commit(send)


# What happened, as a sentence's verb phrase for each status an author is told about.
_SUBJECTS = {
    "approved": "Your proposal on {doc} was approved",
    "rejected": "Your proposal on {doc} was rejected",
    "changes": "Changes were requested to your proposal on {doc}",
}
_BODIES = {
    "approved": "Your proposal {pk} on {doc} ({edition}) was approved.",
    "rejected": "Your proposal {pk} on {doc} ({edition}) was rejected.",
    "changes": "A reviewer asked for changes to your proposal {pk} on {doc} ({edition}).",
}
_NOW = {"needs-review": "it now needs review", "orphaned": "it is now orphaned",
        "conflicted": "it is now conflicted"}


def decided(proposal) -> None:
    doc = proposal.document
    words = {"pk": proposal.pk, "doc": doc.label, "edition": doc.edition.slug}
    fallback = f"Your proposal on {{doc}} is now {proposal.get_status_display().lower()}"
    reason = f"\n\nReason: {proposal.status_reason}" if proposal.status_reason else ""
    _send(proposal, _SUBJECTS.get(proposal.status, fallback).format(**words),
          _BODIES.get(proposal.status, fallback + ".").format(**words) + reason)


def conflicted(proposal) -> None:
    doc = proposal.document
    _send(proposal, f"Your proposal on {doc.label} needs re-targeting",
          f"An approved change to {doc.label} ({doc.edition.slug}) conflicts with your "
          f"proposal {proposal.pk}: {full_stop(proposal.status_reason)}\nOpen it to re-target it.")


def reanchored(proposal) -> None:
    doc = proposal.document
    now = _NOW.get(proposal.status, f"it is now {proposal.get_status_display().lower()}")
    _send(proposal, f"Your proposal on {doc.label} needs re-targeting",
          f"{doc.label} ({doc.edition.slug}) changed without a record of where, and your "
          f"proposal {proposal.pk} could not be carried over as it was; {now}: "
          f"{full_stop(proposal.status_reason)}\nOpen it to re-target it.")

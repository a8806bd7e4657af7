"""Tags for the review parts of the edition's reading view (edition never imports review)."""

from django import template

from edition.models import Document

from ..pending import Pending, pending_on

register = template.Library()


@register.simple_tag
def open_proposals(document: Document) -> Pending:
    return pending_on(document)

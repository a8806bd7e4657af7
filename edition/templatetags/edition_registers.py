"""`{% register_entries revision %}`: the register entries a revision mentions, as the JSON the
reading view's popups read (edition/static/edition/registers.js)."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from .. import registers
from ..models import Revision

register = template.Library()

ELEMENT_ID = "register-entries"


@register.simple_tag
def register_entries(revision: Revision) -> SafeString:
    """`<script type="application/json" id="register-entries">` mapping each entry id the
    revision mentions to its name and description; "" when it mentions none."""
    found = registers.mentioned(revision.document.edition, revision.element)
    if not found:
        return SafeString("")
    data = {e.id: {"name": e.name, "description": e.description} for e in found}
    return json_script(data, ELEMENT_ID)

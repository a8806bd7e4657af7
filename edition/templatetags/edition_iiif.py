"""`{% iiif_manifest_url document as url %}`: the unit's IIIF manifest address when it has page
images, else "" (templates/edition/_iiif_link.html)."""

from django import template

from ..iiif import manifests
from ..models import Document

register = template.Library()


@register.simple_tag
def iiif_manifest_url(document: Document) -> str:
    if not manifests.has_page_images(document):
        return ""
    return manifests.document_manifest_url(document)

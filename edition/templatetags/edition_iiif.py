"""`{% iiif_manifest_url document page_images as url %}`: the unit's IIIF manifest address when
it has page images, else "" (templates/edition/_iiif_link.html)."""

from django import template

from ..iiif import manifests
from ..models import Document

register = template.Library()


@register.simple_tag
def iiif_manifest_url(document: Document, shown=None) -> str:
    """`shown`: the unit's pages with images when the view has listed them already (the page
    images panel's list), which spares the queries; else they are looked up."""
    has_images = bool(shown) if isinstance(shown, list) else manifests.has_page_images(document)
    return manifests.document_manifest_url(document) if has_images else ""

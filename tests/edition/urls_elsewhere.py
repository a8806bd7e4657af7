"""A URLconf with the edition's documents elsewhere (tests/edition/test_export_addresses.py)."""

from django.urls import include, path

from edition.urls import DocumentIdConverter  # noqa: F401  (registers the converters)

urlpatterns = [path("elsewhere/", include("edition.urls"))]

"""IIIF Presentation 3 manifests of a volume's page images (issue 11): `manifests` builds them
with iiif-prezi3, `views` serves them (CORS open, ETag by what they show)."""

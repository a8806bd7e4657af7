"""Exports of an edition as files: TEI, standalone HTML, plain text, JSON (W3C Web
Annotations), EPUB 3 and PDF, for the whole volume and for each document.

- `sources`: what a build reads (a Volume of Parts: each document's current revision).
- one module per format, each with `volume(vol) -> bytes` and `document(vol, part) -> bytes`;
  `formats.FORMATS` lists them with their file extensions and content types.
- `builds`: the outbox, coalescing builds, content-addressed files and the atomic switch.
"""

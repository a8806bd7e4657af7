"""The OCR cross-check (issue 11): read a page image with Tesseract (`engine`), line its words
up with the transcription's words on that page (`align`), record each disagreement as a
suggestion (`record`), and find the image's words of a stretch of text (`locate`).

`available()` is what every page that would show OCR asks first: without Tesseract and its
English data the site says "OCR is not installed" there and everything else works.
"""

from __future__ import annotations

from .engine import available

__all__ = ["available"]

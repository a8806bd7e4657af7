"""FRUS-aware checks: pure functions of a unit's TEI `div` that find likely errors, each with an
explanation for the editor and, where the text alone can say, the fix.

`find(div, volume)` runs every enabled check over the unit's running text and each footnote's
own text layer, and returns `Finding`s (edition/tei/findings.py): the same record the plain-text
import's findings use, so one `Suggestion` model and one offers path serve both. A finding with
`change == ""` has no fix: only a person can say what the text should be.

Nothing here touches the database; `edition/checks/run.py` reads what a check needs of the
volume (`Volume`) once per edition and stores the findings.
"""

from __future__ import annotations

from .registry import CHECKS, Check, Volume, choices, find, get, names

__all__ = ["CHECKS", "Check", "Volume", "choices", "find", "get", "names"]

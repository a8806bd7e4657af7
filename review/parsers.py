"""The API's JSON parser: DRF's, refusing what Python's json module lets through but nothing
after it can store or encode (issue 13).

- A lone surrogate (`"\\ud800"`) decodes to a str that no UTF-8 encoder accepts: 400 "not valid
  Unicode".
- A NUL (`"\\u0000"`) is valid JSON and Unicode, but PostgreSQL cannot store or compare it: 400
  "contains a NUL character".
- Nesting past Python's recursion limit (100,000 `[`) makes the decoder raise RecursionError:
  400, as any other malformed body.

Each error names the field (`changes[1].selector.exact`), as the API's other 400s do.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.parsers import JSONParser

from .serializers import ApiError

SURROGATE = re.compile("[\ud800-\udfff]")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ApiError(400, "invalid", "the body is not valid JSON: nested too deeply") \
                from None
        check_strings(data)
        return data


def check_strings(data: Any) -> None:
    """Raise ApiError 400 at the first string, key or value, holding a lone surrogate or a NUL.
    Iterative: the decoder's nesting is bounded only by the recursion limit."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                field = f"{where}.{key}" if where else str(key)
                _check(field, key, is_key=True)
                stack.append((field, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check(where, value)


def _check(field: str, value: str, *, is_key: bool = False) -> None:
    what = f"the key {field}" if is_key else (field or "the body")
    if SURROGATE.search(value):
        raise ApiError(400, "invalid", f"{_safe(what)}: not valid Unicode (a lone surrogate)",
                       field=_safe(field))
    if "\x00" in value:
        raise ApiError(400, "invalid", f"{_safe(what)}: contains a NUL character",
                       field=_safe(field))


def _safe(text: str) -> str:
    """The field's name as the error can carry it: its own surrogates and NULs replaced."""
    return SURROGATE.sub("\ufffd", text).replace("\x00", "\ufffd")

"""Numbers and strings from a request's parameters, made safe before they reach the database.

`str.isdigit` accepts "²" and "١٢", which `int` refuses or reads; PostgreSQL refuses a NUL in
any string and an integer past its column. Every view reading a number from GET or POST asks
`positive_int`; every one passing a string to a filter refuses a NUL first (issue 13).
"""

from __future__ import annotations

# PostgreSQL's `integer`: the narrowest column a number from a request is compared with
# (revision numbers); ids (bigint) are far below it in practice.
MAX_INT = 2**31 - 1


def positive_int(value: str | None, *, maximum: int = MAX_INT) -> int | None:
    """`value` as an integer in 1…maximum, or None: ASCII digits only, no sign, no spaces."""
    if not value or len(value) > len(str(maximum)) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= maximum else None


def has_nul(*values: str | None) -> bool:
    return any(value and "\x00" in value for value in values)


class NumberConverter:
    """`<num:pk>` in a URL: 1 to 9 ASCII digits, so that it fits every integer column (a
    longer number is no match: 404)."""

    regex = "[0-9]{1,9}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)

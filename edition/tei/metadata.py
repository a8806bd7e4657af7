"""The document `div`'s own attributes that may be changed (its dates), and the one rule that
turns them into the `Document` row's date range. No database.

Attributes are named as in the FRUS TEI source (`frus:doc-dateTime-min`); values are ISO 8601
date-times with a UTC offset, or "" to remove the attribute. A document has both dates or
neither, and the first is not after the second.
"""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from . import FRUS_NS, XML_ID, tei
from .parsing import TEIError
from .schema import EARLIEST_YEAR, LATEST_YEAR, DateOutOfRange, frus_datetime

DATE_MIN = "frus:doc-dateTime-min"
DATE_MAX = "frus:doc-dateTime-max"
# The allow-list: the name people see → the attribute's Clark name.
ATTRIBUTES = {DATE_MIN: f"{{{FRUS_NS}}}doc-dateTime-min",
              DATE_MAX: f"{{{FRUS_NS}}}doc-dateTime-max"}


class MetadataError(TEIError):
    """An attribute change that is refused; `attribute` names the one at fault ("" for the
    change as a whole)."""

    def __init__(self, message: str, attribute: str = "") -> None:
        super().__init__(message)
        self.attribute = attribute


def date_time(value: str) -> dt.datetime:
    """An aware datetime from a FRUS date-time (with its numeric UTC offset); ValueError
    otherwise. The gate's rule (`schema.frus_datetime`): one rule for both."""
    return frus_datetime(value)


def check(values: object) -> dict[str, str]:
    """The attribute changes, checked on their own (names, formats, min ≤ max when both are
    given). Raises MetadataError naming the attribute."""
    if not isinstance(values, dict) or not values:
        raise MetadataError("give at least one attribute to change: "
                            + ", ".join(ATTRIBUTES))
    for name, value in values.items():
        if name not in ATTRIBUTES:
            raise MetadataError(f"“{name}” cannot be changed here; the document's attributes "
                                f"that can are {', '.join(ATTRIBUTES)}", name)
        if not isinstance(value, str):
            raise MetadataError(f"{name} must be a string (\"\" removes it)", name)
        if value:
            try:
                date_time(value)
            except ValueError as exc:  # the one rule's own words (schema.frus_datetime)
                raise MetadataError(f"{name}: {exc}", name) from None
    _check_range(values.get(DATE_MIN), values.get(DATE_MAX))
    return dict(values)


def _check_range(low: str | None, high: str | None) -> None:
    if low is None or high is None:
        return
    if bool(low) != bool(high):
        raise MetadataError(f"a document has both {DATE_MIN} and {DATE_MAX} or neither",
                            DATE_MAX if low else DATE_MIN)
    if low and date_time(low) > date_time(high):
        raise MetadataError(f"{DATE_MIN} ({low}) is after {DATE_MAX} ({high})", DATE_MIN)


def values_of(div: etree._Element) -> dict[str, str]:
    """The div's allow-listed attributes that are set, by their shown names."""
    return {name: div.get(clark) for name, clark in ATTRIBUTES.items()
            if div.get(clark) is not None}


def set_attributes(div: etree._Element, values: dict[str, str]) -> etree._Element:
    """A copy of `div` with the attributes set ("" removes one). Raises MetadataError when
    the result would have one date without the other, or the dates reversed."""
    values = check(values)
    result = etree.fromstring(etree.tostring(div))
    for name, value in values.items():
        if value:
            result.set(ATTRIBUTES[name], value)
        else:
            result.attrib.pop(ATTRIBUTES[name], None)
    now = values_of(result)
    _check_range(now.get(DATE_MIN, ""), now.get(DATE_MAX, ""))
    return result


def document_dates(div: etree._Element, warnings: list[str] | None = None,
                   errors: list[str] | None = None,
                   ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The date range of the `Document` row: from the div's attributes, or, when it has
    neither, from its dateline (a day without a time spans the day, read in UTC). What the
    import and every new revision use. Lenient, for volumes as published: a value that is not
    a date-time, or a reversed range, leaves the dates empty and says so in `warnings`; a date
    outside the sane years is a problem for `errors` (the import refuses it)."""
    where = div.get(XML_ID)
    if not any(div.get(clark) for clark in ATTRIBUTES.values()):
        return _dateline_range(div)
    dates = []
    for name, clark in ATTRIBUTES.items():
        value = div.get(clark)
        try:
            dates.append(frus_datetime(value) if value else None)
        except DateOutOfRange as exc:
            (errors if errors is not None else warnings or []).append(f"{where}: {name} {exc}")
            dates.append(None)
        except ValueError as exc:
            if warnings is not None:
                warnings.append(f"{where}: {name} {exc}; its date is left empty")
            dates.append(None)
    low, high = dates
    if low and high and low > high:
        if warnings is not None:
            warnings.append(f"{where}: {DATE_MIN} is after -max; dates left empty")
        return None, None
    return low, high


def _dateline_range(div: etree._Element) -> tuple[dt.datetime | None, dt.datetime | None]:
    stated = dateline_dates(div)
    try:
        low, high = (dt.datetime.fromisoformat(stated[k]) for k in (DATE_MIN, DATE_MAX))
    except (KeyError, ValueError):
        return None, None
    low, high = (d if d.tzinfo else d.replace(tzinfo=dt.UTC) for d in (low, high))
    if not all(EARLIEST_YEAR <= d.year <= LATEST_YEAR for d in (low, high)) or low > high:
        return None, None
    return low, high


def dateline_place(div: etree._Element) -> str:
    """Where the document was written, as its first dateline's `placeName` says ("" if not)."""
    for dateline in div.iter(tei("dateline")):
        for place in dateline.iter(tei("placeName")):
            return " ".join("".join(place.itertext()).split()).rstrip(",")[:300]
        break
    return ""


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WRITTEN_DAY = re.compile(rf"\b({'|'.join(_MONTHS)}) (\d{{1,2}}), (\d{{4}})\b")


def dateline_dates(div_or_fragment: etree._Element) -> dict[str, str]:
    """The dates a `dateline` states, as attribute values: its `date`'s `from`/`to`,
    `notBefore`/`notAfter` or `when`, else a day written in its text ("January 19, 1960"); a
    day without a time spans the day. {} when it states none. Values lack the UTC offset the
    source does not give: the person adds it."""
    for dateline in div_or_fragment.iter(tei("dateline")):
        for date in dateline.iter(tei("date")):
            low = date.get("from") or date.get("notBefore") or date.get("when")
            high = date.get("to") or date.get("notAfter") or date.get("when")
            if low and high:
                return {DATE_MIN: _day_edge(low, "T00:00:00"),
                        DATE_MAX: _day_edge(high, "T23:59:59")}
        written = _WRITTEN_DAY.search(" ".join("".join(dateline.itertext()).split()))
        if written:
            month, day, year = written.groups()
            iso = f"{year}-{_MONTHS.index(month) + 1:02d}-{int(day):02d}"
            return {DATE_MIN: f"{iso}T00:00:00", DATE_MAX: f"{iso}T23:59:59"}
    return {}


def _day_edge(value: str, time: str) -> str:
    return value + time if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else value

"""The (edition, date_min, date_max) index serves the date-range filter of search (an edition
and a span that overlaps the document's). The query plans are read from the database itself, on SQLite and on PostgreSQL."""

from datetime import date

import pytest
from django.db import connection, transaction

from edition.models import SearchEntry
from edition.search import Filters

pytestmark = pytest.mark.django_db

INDEX = "document_edition_dates"


def plan(sql: str, params) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A sample edition is a few rows: a sequential scan is cheaper whatever the indexes.
            # Forbidding it asks whether an index *can* serve the query, and which one the
            # planner prefers among those that can (bench/date_index.py shows the plan on a
            # 1,000-document volume, where no setting is needed).
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" ".join(map(str, row)) for row in cursor.fetchall())


def test_search_date_range_uses_the_index(sample_edition):
    filters = Filters(editions=[sample_edition], date_from=date(1960, 1, 1),
                      date_to=date(1960, 1, 31))
    kept = filters.apply(SearchEntry.objects.all()).values("id")
    assert kept.exists()  # the sample's documents are of January 1960: the filter keeps some
    sql, params = kept.query.sql_with_params()
    assert INDEX in plan(sql, params)



@pytest.mark.parametrize("since, until", [(date(1960, 1, 1), None), (None, date(1960, 1, 31))])
def test_half_open_ranges_use_the_index(sample_edition, since, until):
    kept = Filters(editions=[sample_edition], date_from=since, date_to=until).apply(
        SearchEntry.objects.all()).values("id")
    assert kept.exists()
    assert INDEX in plan(*kept.query.sql_with_params())

"""Inserting many rows at once: PostgreSQL's COPY where it serves, `bulk_create` elsewhere.

On PostgreSQL `bulk_create` sends its rows as one array per column (`INSERT … SELECT * FROM
UNNEST(…)`), which psycopg builds in Python a character at a time: for a 400-document volume
(4 MB of TEI, as much again of text layer and search entries) that was about a second of a
three-second import. COPY streams the same rows as text, which psycopg writes in C. Like
`bulk_create`, neither sends signals nor calls `save`."""

from __future__ import annotations

from django.db import connection, models


def reserve(model: type[models.Model], objs: list[models.Model]) -> bool:
    """Give each of `objs` the primary key the table's own sequence would have given it, before
    it is written: COPY returns nothing, and rows that point at each other (a document and its
    current revision) are then written in one pass each. PostgreSQL only (False elsewhere)."""
    if connection.vendor != "postgresql" or not objs:
        return connection.vendor == "postgresql"
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                       "FROM generate_series(1, %s)", [model._meta.db_table, pk.column, len(objs)])
        for obj, (key,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = key
    return True


def insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert `objs`, each as `bulk_create` would (`auto_now_add` and defaults applied), with
    the keys `reserve` gave them if it did."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)  # SQLite returns the keys too
        return
    table = model._meta.db_table
    keyed = objs[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if keyed or not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        # Django's cursor wraps psycopg's; COPY is psycopg's own.
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, add=True), connection)
                                for f in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias

"""``bulk_create`` for rows that carry large bytes: on PostgreSQL the bytes travel in binary.

Django binds parameters on the client with psycopg: every value is quoted into the
SQL text, so a mailbox import's raw messages (17 MB for the public test corpus) were
hex-escaped to twice their size and parsed back by PostgreSQL. This sends the same
INSERT (Django builds it, ``RETURNING`` the keys) with server-side parameters, which
psycopg passes to PostgreSQL in binary. Other databases use ``bulk_create``.

Nothing of the model is bypassed that ``bulk_create`` would run: no signals, the same
field preparation (``pre_save`` and ``get_db_prep_save``). The statement is not seen
by Django's query wrappers (debug logging, ``CaptureQueriesContext``).
"""

import psycopg
from django.db import connections
from django.db.models import Model
from django.db.models.sql import InsertQuery

from supportdesk.db import on_postgresql


def bulk_insert(objs: list[Model], *, using: str = "default") -> list[Model]:
    """Insert new rows of one model in one statement; their primary keys are set on return."""
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[using]
    if not on_postgresql(connection):
        return model.objects.using(using).bulk_create(objs)
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not field.generated and field is not opts.auto_field]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [opts.pk]
    (sql, params), = compiler.as_sql()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=False)
        keys = cursor.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding, obj._state.db = False, using
    return objs

"""Django's SQLite backend, made to behave as the desk needs it to, as PostgreSQL does.

- Bulk statements as large as this SQLite allows. Django 5.2 assumes the 999 bound
  parameters SQLite allowed before 3.32 and splits every bulk insert to fit, so a
  mailbox import's batch became a statement per ~60 messages. SQLite now allows 32766
  by default (Debian builds it with 250000); this asks the connection, as Django 6.0 does.
- ``UPPER()`` folds every letter, not only ASCII ones. Addresses are matched by their
  upper-cased form, computed in Python on one side and by the database on the other:
  SQLite's own ``UPPER('jörg@…')`` is ``'JöRG@…'``, so a contact writing from such an
  address was never found again and got a new contact with every message.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int:
        self.connection.ensure_connection()
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # Deterministic, so indexes on UPPER(...) (tickets' contact_by_upper_email) may use it.
        connection.create_function("UPPER", 1, _upper, deterministic=True)
        return connection

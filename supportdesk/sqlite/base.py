"""Django's SQLite backend, with bulk statements as large as this SQLite allows.

Django 5.2 assumes the 999 bound parameters SQLite allowed before 3.32 and splits every
bulk insert to fit, so a mailbox import's batch became a statement per ~60 messages.
SQLite now allows 32766 by default (Debian builds it with 250000); this asks the
connection, as Django 6.0 does.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int:
        self.connection.ensure_connection()
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

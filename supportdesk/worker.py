"""The desk's rq worker class: jobs run in the worker's own process, one after another.

rq's default worker forks a child per job, so whatever a job warms up dies with it: a
Jira client (its sign-in and serverInfo request), the console-push loop and its Redis
connection, the database connection. Here they outlive the job. Django's connections
are checked around every job, as around a request, so a dropped one is replaced.
"""

from django.db import close_old_connections
from rq.worker import SimpleWorker


class DeskWorker(SimpleWorker):
    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()

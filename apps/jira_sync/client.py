"""The one module that speaks to Jira through the ``jira`` library.

The library has no timeout by default and retries on its own; here every request has a
limit and the library retries nothing: the outbox decides when to try again (backoff,
Retry-After, a time limit), so retries are counted and visible. One client per owner's
connection per process (rebuilt when the connection is edited): a worker creating
hundreds of issues signs in once.
"""

from django.conf import settings
from jira import JIRA

_clients: dict[tuple, JIRA] = {}


def client_for(connection) -> JIRA:
    key = (connection.pk, connection.updated_at, connection.site_url, connection.auth, connection.email,
           connection.token)
    client = _clients.get(key)
    if client is None:
        auth = ({"basic_auth": (connection.email, connection.token)} if connection.auth == connection.Auth.CLOUD
                else {"token_auth": connection.token})
        # serverInfo at construction tells Cloud from Data Center (which search endpoint to use).
        client = JIRA(server=connection.site_url, timeout=(3.05, settings.JIRA_TIMEOUT_SECONDS), max_retries=0,
                      get_server_info=True, **auth)
        for stale in [known for known in _clients if known[0] == connection.pk]:
            del _clients[stale]
        _clients[key] = client
    return client


def label_of(ticket) -> str:
    """Stamped on the issue at creation: finding it again proves the ticket has its issue already."""
    return f"supportdesk-{ticket.reference}"


def find_issue(client: JIRA, *, project_key: str, ticket) -> str | None:
    """The key of the issue made for this ticket, if an earlier, unclear attempt made it."""
    found = client.search_issues(f'project = "{project_key}" AND labels = "{label_of(ticket)}"',
                                 maxResults=1, fields="key")
    return found[0].key if found else None

"""The search's CSV: every ticket the search finds that the user may open, one row each, streamed.

Codes and their words both (the words in the viewer's language, the time in the viewer's
zone), as the owners' quarterly CSV has them. Labels and zone are fixed when the export
starts: the rows are written after the view has returned, maybe in another thread.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from itertools import islice

from django.db.models import QuerySet
from django.utils import timezone

from apps.policy.languages import Channel, Language
from apps.tickets import selectors as ticket_selectors
from apps.tickets.models import Ticket

HEADER = ["reference", "received_at", "subject", "status", "status_label", "channel", "channel_label",
          "language", "language_label", "region", "region_name", "scope", "scope_label", "category",
          "category_label", "extension", "extension_name", "owner", "owner_name", "sla_breached"]
BATCH = 500


class _Echo:
    """csv.writer's file: hands each line back instead of storing it."""

    def write(self, line: str) -> str:
        return line


def labels() -> dict[str, dict[str, str]]:
    """Code → word for each coded column, in the active language (call inside the request)."""
    return {"status": {c: str(label) for c, label in Ticket.Status.choices},
            "channel": {c: str(label) for c, label in Channel.choices},
            "language": {c: str(label) for c, label in Language.choices},
            "scope": {c: str(label) for c, label in Ticket.Scope.choices},
            "category": {c: str(label) for c, label in Ticket.Category.choices}}


def csv_lines(tickets: QuerySet[Ticket], *, words: dict[str, dict[str, str]], zone: tzinfo) -> Iterator[str]:
    """The CSV, line by line: ``BATCH`` tickets read at a time, with one query for their SLA breaches."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    rows = tickets.select_related("region", "extension__owner").iterator(chunk_size=BATCH)
    for batch in _batches(rows):
        breached = ticket_selectors.breached_ids([ticket.pk for ticket in batch])
        for ticket in batch:
            yield writer.writerow(_row(ticket, words, zone, ticket.pk in breached))


def _row(ticket: Ticket, words: dict[str, dict[str, str]], zone: tzinfo, breached: bool) -> list[str]:
    extension, region = ticket.extension, ticket.region
    owner = extension.owner if extension else None
    return [ticket.reference, timezone.localtime(ticket.received_at, zone).isoformat(), _inert(ticket.subject),
            ticket.status, words["status"].get(ticket.status, ""),
            ticket.channel, words["channel"].get(ticket.channel, ""),
            ticket.language, words["language"].get(ticket.language, ""),
            region.slug if region else "", region.name if region else "",
            ticket.scope, words["scope"].get(ticket.scope, ""),
            ticket.category, words["category"].get(ticket.category, ""),
            extension.slug if extension else "", extension.name if extension else "",
            owner.slug if owner else "", owner.name if owner else "", "yes" if breached else "no"]


def _inert(text: str) -> str:
    """A user's subject starting like a formula ("=HYPERLINK(…)") stays text in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _batches(rows: Iterable[Ticket]) -> Iterator[list[Ticket]]:
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        yield batch

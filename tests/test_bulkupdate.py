"""``update_rows``: what ``bulk_update`` writes, one plain UPDATE per row (both databases)."""

from datetime import UTC, datetime

import pytest

from apps.mail.models import InboundEmail
from apps.tickets.models import Contact, Ticket
from supportdesk.bulkupdate import update_rows

pytestmark = pytest.mark.django_db


def test_update_rows_writes_text_json_dates_and_foreign_keys_of_each_row_and_nothing_else():
    contact = Contact.objects.create(email="ada@example.org")
    ticket = Ticket.objects.create(reference="SD-900001", channel="email", contact=contact, language="en",
                                   subject="Krasch", received_at=datetime(2026, 3, 10, tzinfo=UTC))
    rows = [InboundEmail.objects.create(source=InboundEmail.Source.SMTP, raw=f"mail {n}".encode(), size=6,
                                        sha256=f"{n:064d}", received_at=datetime(2026, 3, 10, tzinfo=UTC))
            for n in range(3)]
    filed_at = datetime(2026, 3, 10, 10, 0, 5, tzinfo=UTC)
    for n, row in enumerate(rows[:2]):
        row.outcome, row.ticket, row.processed_at = InboundEmail.Outcome.NEW_TICKET, ticket, filed_at
        row.subject, row.automatic_reasons = f"Ämne {n} 'quoted'", ["auto-submitted", f"reason {n}"]

    update_rows(rows[:2], ["outcome", "ticket", "processed_at", "subject", "automatic_reasons"])

    stored = {row.pk: row for row in InboundEmail.objects.all()}
    for n, row in enumerate(rows[:2]):
        again = stored[row.pk]
        assert (again.outcome, again.ticket_id, again.processed_at) == (InboundEmail.Outcome.NEW_TICKET, ticket.pk,
                                                                        filed_at)
        assert again.subject == f"Ämne {n} 'quoted'" and again.automatic_reasons == ["auto-submitted", f"reason {n}"]
        assert bytes(again.raw) == f"mail {n}".encode()           # a field not named is left alone
    untouched = stored[rows[2].pk]
    assert untouched.outcome == InboundEmail.Outcome.PENDING and untouched.ticket_id is None


def test_update_rows_of_nothing_does_nothing():
    update_rows([], ["outcome"])

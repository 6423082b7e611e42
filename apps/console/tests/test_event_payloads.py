"""The console's event payloads: each ticket read and described once for a batch of its events."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.console import selectors
from apps.console.selectors import event_payloads
from apps.desk import actions
from apps.tickets.models import Message, TicketEvent


def test_a_batch_reads_each_ticket_once_whatever_its_number_of_events(contact, agent, monkeypatch):
    def batch(count):
        tickets = [actions.open_ticket(channel="email", contact=contact, subject=f"s{i}", body="Hej",
                                       external_ref=f"<b{count}-{i}@example.com>") for i in range(count)]
        for ticket in tickets:
            actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body="Svar", author_user=agent)
        return tickets, list(TicketEvent.objects.filter(ticket__in=tickets).values_list("pk", flat=True))

    few_tickets, few = batch(2)
    many_tickets, many = batch(20)
    with CaptureQueriesContext(connection) as read_few:
        event_payloads(few)
    described, describe = [], selectors.ticket_payload
    monkeypatch.setattr(selectors, "ticket_payload",
                        lambda ticket, **kwargs: described.append(ticket.pk) or describe(ticket, **kwargs))
    with CaptureQueriesContext(connection) as read_many:
        payloads = event_payloads(many)
    assert len(read_many.captured_queries) == len(read_few.captured_queries) <= 4
    assert sorted(described) == sorted(ticket.pk for ticket in many_tickets)      # once each

    assert [payload["id"] for payload in payloads] == sorted(many) and len(many) > 2 * len(many_tickets)
    owner = dict(TicketEvent.objects.filter(pk__in=many).values_list("pk", "ticket__reference"))
    assert all(payload["ticket"]["reference"] == owner[payload["id"]] for payload in payloads)
    replies = [payload for payload in payloads if "message" in payload]
    assert len(replies) == 2 * len(many_tickets)            # the question and the answer, each once
    assert {payload["message"]["body_text"] for payload in replies} == {"Hej", "Svar"}

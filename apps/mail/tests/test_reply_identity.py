"""An agent's mailed reply says who wrote it: their display name in From, their signature below the text."""

import pytest

from apps.desk import actions
from apps.mail.outbound import send_reply
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message
from conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_comes_from_the_agents_display_name_and_carries_their_signature(
        mailboxes, agent, smtp_sink, redis_queues):
    profile = agent.agent_profile
    profile.display_name, profile.signature = "Sara Berg", "Sara Berg\nKundsupport"
    profile.save()
    ticket = ingest(build_email(headers={"Content-Language": "en"}, subject="Export fails",
                                body="The export fails every time I try it.")).ticket
    assert ticket.language == "en"
    message = actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=agent,
                                  body="Please update to 4.2.")
    outbound = send_reply(ticket=ticket, message=message)

    run_worker("mail")

    reply = next(m for m in smtp_sink.messages() if m["Message-ID"] == outbound.message_id)
    assert reply["From"].addresses[0].display_name == "Sara Berg, Support"
    assert reply["From"].addresses[0].addr_spec == outbound.from_address == "support-eu@example.com"
    text = reply.get_content().replace("\r\n", "\n")
    assert text.index("Please update to 4.2.") < text.index("Sara Berg\nKundsupport") < text.index("\n-- \n")
    assert Message.objects.get(pk=message.pk).body_text == "Please update to 4.2."   # the thread keeps the text


def test_without_a_display_name_or_full_name_the_username_signs_and_no_signature_is_added(
        mailboxes, agent, smtp_sink, redis_queues):
    ticket = ingest(build_email(headers={"Content-Language": "en"}, subject="Export fails",
                                body="The export fails every time I try it.")).ticket
    outbound = send_reply(ticket=ticket, message=actions.add_message(
        ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=agent, body="One."))

    run_worker("mail")

    reply = next(m for m in smtp_sink.messages() if m["Message-ID"] == outbound.message_id)
    assert reply["From"].addresses[0].display_name == "agent_sv, Support"
    assert reply.get_content().replace("\r\n", "\n").startswith("One.\n\n-- \n")

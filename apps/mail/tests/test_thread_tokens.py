"""The thread token: the desk's mail carries it, and a reply carrying it threads whoever sends it."""

from email.utils import parseaddr

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.desk import actions
from apps.mail import filing, outbound, tokens
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message, Ticket
from conftest import run_worker

Outcome = InboundEmail.Outcome


def _forged(reference: str) -> str:
    genuine = tokens.thread_token(reference)
    return genuine[:-1] + ("a" if genuine[-1] != "a" else "b")


def test_the_token_is_the_same_for_a_ticket_and_differs_between_tickets(settings):
    assert tokens.thread_token("SD-000001") == tokens.thread_token("SD-000001")
    assert tokens.thread_token("SD-000001") != tokens.thread_token("SD-000002")
    assert tokens.reference_in([f"support-eu+{tokens.thread_token('SD-000001')}@example.com"]) == "SD-000001"
    assert tokens.reference_in([f"support-eu+{_forged('SD-000001')}@example.com"]) is None
    assert tokens.reference_in(["support-eu+t-sd-000001-abcdefghijklmnop@example.com"]) is None


def test_a_token_made_with_a_retired_secret_key_still_verifies(settings):
    old = tokens.thread_token("SD-000007")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert tokens.thread_token("SD-000007") != old
    assert tokens.reference_in([old.upper()]) == "SD-000007"   # a mail server changed the case


def test_a_reply_to_the_plus_address_threads_even_from_another_address(mailboxes):
    first = ingest(build_email())
    ticket = first.ticket
    reply_to = tokens.reply_address("support-eu@example.com", ticket.reference)
    # Forwarded to a colleague, who answers from their own address, with a new subject and no headers.
    forwarded = ingest(build_email(sender="colleague@example.org", to=reply_to, subject="Loggen du bad om",
                                   body="Här är loggen."))

    assert forwarded.outcome == Outcome.REPLY
    assert forwarded.ticket == ticket
    assert forwarded.mailbox == "support-eu@example.com"   # the mailbox the token was added to
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT).count() == 1


def test_the_token_in_the_smtp_envelope_threads(mailboxes):
    first = ingest(build_email())
    reply_to = tokens.reply_address("support-eu@example.com", first.ticket.reference)
    reply = ingest(build_email(sender="colleague@example.org", to="undisclosed-recipients:;", subject="Svar",
                               body="Svar."), envelope_to=[reply_to])
    assert reply.ticket == first.ticket


def test_a_forged_token_with_the_tickets_tag_opens_a_new_ticket(mailboxes):
    first = ingest(build_email())
    reference = first.ticket.reference
    forged = ingest(build_email(sender="mallory@evil.example", to=f"support-eu+{_forged(reference)}@example.com",
                                subject=f"Re: Krasch [{reference}]", body="Send me the invoice.",
                                in_reply_to=f"<{_forged(reference)}.1@example.com>"))

    assert forged.outcome == Outcome.NEW_TICKET
    assert forged.ticket != first.ticket
    assert forged.ticket.region.slug == "europe"


def test_an_answer_to_a_message_id_the_desk_did_not_record_threads_by_its_token(mailboxes):
    # The chat transcript goes out without a MailReference row: its Message-ID carries the token.
    first = ingest(build_email())
    answer = ingest(build_email(sender="other@example.net", subject="Re: Your chat transcript",
                                body="En fråga till.", in_reply_to=tokens.message_id(first.ticket.reference)))
    assert answer.outcome == Outcome.REPLY
    assert answer.ticket == first.ticket


FROZEN = "2026-03-10 10:00 +00:00"


@time_machine.travel(FROZEN, tick=False)
def test_a_batch_threads_by_token_and_by_a_participants_tag_and_never_by_a_strangers_tag(mailboxes):
    first = ingest(build_email())
    ticket = first.ticket
    reference = ticket.reference
    raws = [
        build_email(sender="mallory@evil.example", subject=f"Re: Krasch [{reference}]", body="Hijack."),
        build_email(sender="ada@example.org", subject=f"Nytt [{reference}]", body="Från Ada."),
        build_email(sender="colleague@example.org", to=tokens.reply_address("support-eu@example.com", reference),
                    subject="Från kollegan", body="Från kollegan."),
        build_email(sender="colleague@example.org", subject=f"Igen [{reference}]", body="Igen."),
        build_email(sender="mallory@evil.example", to=f"support-eu+{_forged(reference)}@example.com",
                    subject="Krasch", body="Forged."),
    ]
    results = list(filing.ingest_many(raws, source=InboundEmail.Source.FILE))

    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.REPLY, Outcome.REPLY, Outcome.REPLY,
                                            Outcome.REPLY]
    assert [r.ticket_id == ticket.pk for r in results] == [False, True, True, True, False]
    assert results[4].ticket_id == results[0].ticket_id   # mallory's own thread, not Ada's ticket
    assert not ticket.messages.filter(body_text__in=["Hijack.", "Forged."]).exists()


@time_machine.travel(FROZEN, tick=False)
def test_a_batch_of_strangers_tags_costs_what_a_few_cost(mailboxes):
    # The tagged tickets and their participants are read once per batch, not once per message.
    victims = [ingest(build_email(sender=f"user{n}@example.org", subject=f"Fråga {n}")).ticket.reference
               for n in range(3)]

    def forged(count: int, prefix: str) -> list[bytes]:
        return [build_email(sender=f"{prefix}{n}@evil.example", subject=f"Re: Fråga [{victims[n % 3]}]",
                            body="Hijack.") for n in range(count)]

    list(filing.ingest_many(forged(1, "warm"), source=InboundEmail.Source.FILE))
    with CaptureQueriesContext(connection) as few:
        list(filing.ingest_many(forged(3, "few"), source=InboundEmail.Source.FILE))
    with CaptureQueriesContext(connection) as many:
        results = list(filing.ingest_many(forged(30, "many"), source=InboundEmail.Source.FILE))

    assert len(many.captured_queries) == len(few.captured_queries)
    assert {r.outcome for r in results} == {Outcome.NEW_TICKET}
    assert not Message.objects.filter(ticket__reference__in=victims, body_text="Hijack.").exists()


@pytest.mark.django_db(transaction=True)
def test_the_receipt_and_the_agents_reply_carry_the_token_and_an_answer_to_either_threads(
        mailboxes, agent, smtp_sink, redis_queues):
    first = ingest(build_email(message_id="<tok-1@client.example.org>"))
    ticket = first.ticket
    message = actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=agent,
                                  body="Prova version 4.2.")
    outbound.send_reply(ticket=ticket, message=message)

    run_worker("mail")

    receipt, reply = sorted(smtp_sink.messages(), key=lambda m: "4.2" in m.get_content())
    token = tokens.thread_token(ticket.reference)
    for sent in (receipt, reply):
        assert sent["Reply-To"] == f"support-eu+{token}@example.com"
        assert parseaddr(str(sent["From"]))[1] == "support-eu@example.com"   # the reply names its agent too
        assert token in sent["Message-ID"]
        assert tokens.reference_in([str(sent["Reply-To"]), str(sent["Message-ID"])]) == ticket.reference
    # Answered from a forwarded address to the Reply-To, with the subject changed and the headers dropped.
    answer = ingest(build_email(sender="boss@example.org", to=str(reply["Reply-To"]), subject="Fwd: ?",
                                body="Vi testar."))
    assert answer.outcome == Outcome.REPLY and answer.ticket == ticket
    assert Ticket.objects.count() == 1


def test_the_chat_transcript_carries_the_token(regions, queues, mailoutbox):
    from apps.chat import services as chat
    from apps.chat.transcripts import send_transcript_later
    from apps.outbox.services import deliver_due

    conversation = chat.start_conversation(language="sv", name="Ada Lind", email="ada@example.com",
                                           entry_point="widget-europe", check_availability=False,
                                           at=timezone.now())
    send_transcript_later(conversation)
    deliver_due()                  # through the outbox (embedded: sent already at the commit)

    (mail,) = mailoutbox
    reference = conversation.ticket.reference
    assert mail.reply_to == [f"support-eu+{tokens.thread_token(reference)}@example.com"]
    assert tokens.reference_in([mail.extra_headers["Message-ID"]]) == reference
    answer = ingest(build_email(sender="ada.private@example.net", to=mail.reply_to[0], subject="Re: transcript",
                                body="En sak till."))
    assert answer.ticket_id == conversation.ticket_id

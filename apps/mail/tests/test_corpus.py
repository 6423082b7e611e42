"""The public corpus (1,099 messages from 11 projects' test suites): every message is filed, none raises."""

import os
from collections import Counter

import pytest

from apps.mail import filing
from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import CORPUS
from apps.tickets.models import Ticket

# A missing corpus fails loudly: a skipped corpus test would prove nothing in CI.
pytestmark = pytest.mark.skipif(os.environ.get("SUPPORTDESK_SKIP_CORPUS") == "1", reason="SUPPORTDESK_SKIP_CORPUS=1")


def corpus_files() -> list[str]:
    return sorted(os.path.join(root, name) for root, _dirs, names in os.walk(CORPUS)
                  for name in names if name.endswith(".eml"))


def test_every_corpus_message_becomes_a_ticket_a_reply_or_a_flagged_raw_ticket(mailboxes):
    files = corpus_files()
    assert len(files) == 1099
    outcomes = Counter()
    for path in files:
        with open(path, "rb") as handle:
            inbound = filing.ingest_email(raw=handle.read(), source=InboundEmail.Source.FILE)
        outcomes[inbound.outcome] += 1
        assert inbound.processed_at is not None, path
        if inbound.outcome in (InboundEmail.Outcome.NEW_TICKET, InboundEmail.Outcome.REPLY,
                               InboundEmail.Outcome.AUTOMATIC, InboundEmail.Outcome.DUPLICATE):
            assert inbound.ticket_id and inbound.ticket_message_id, path
        elif inbound.outcome == InboundEmail.Outcome.UNPARSED:
            assert inbound.ticket.unparsed, path
            assert inbound.ticket_message.attachments.filter(content_type="message/rfc822").exists(), path
        else:
            assert inbound.outcome == InboundEmail.Outcome.REVIEW, path
            assert inbound.automatic_reasons, path
    print(dict(outcomes))
    assert InboundEmail.objects.count() == 1099
    assert not InboundEmail.objects.filter(processed_at__isnull=True).exists()
    # Only messages the stdlib cannot read at all are flagged, and each has its raw bytes attached.
    assert outcomes[InboundEmail.Outcome.UNPARSED] <= 5
    assert Ticket.objects.filter(unparsed=True).count() == outcomes[InboundEmail.Outcome.UNPARSED]
    # The two RFC 2822 example replies thread onto the example they answer.
    assert outcomes[InboundEmail.Outcome.REPLY] >= 2

"""The SMTP listener over a real socket: 250 only once stored, 451 when it cannot store, 552 when too big."""

import os
import smtplib
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import build_email, free_port
from apps.tickets.models import Ticket
from conftest import run_worker

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="needs the job queued, not yet run: embedded, jobs run at commit")
def test_accepted_mail_is_stored_before_250_and_processed_by_the_mail_worker(regions, listener, redis_queues):
    raw = build_email(message_id="<smtp-1@client.example.org>").replace(b"\n", b"\r\n")  # as MTAs send it
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        refused = client.sendmail("ada@example.org", ["support-eu@example.com"], raw)

    assert refused == {}
    inbound = InboundEmail.objects.get()
    assert bytes(inbound.raw) == raw
    assert inbound.source == InboundEmail.Source.SMTP
    assert inbound.envelope_to == ["support-eu@example.com"]
    assert inbound.processed_at is None  # stored and acknowledged; processing is the worker's job

    run_worker("mail")

    inbound.refresh_from_db()
    assert inbound.outcome == InboundEmail.Outcome.NEW_TICKET
    assert inbound.ticket.region.slug == "europe"
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="counts the jobs queued: embedded, jobs run at commit")
def test_a_burst_of_mail_queues_one_filing_job_that_files_it_as_one_batch(regions, listener, redis_queues):
    raws = [build_email(sender=f"user{n}@example.org", subject=f"Burst {n}",
                        message_id=f"<burst-{n}@client.example.org>") for n in range(5)]
    raws.append(build_email(sender="user0@example.org", subject="Re: Burst 0",  # answers the first
                            message_id="<burst-reply@client.example.org>",
                            in_reply_to="<burst-0@client.example.org>"))
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        for raw in raws:
            assert client.sendmail("someone@example.org", ["support-eu@example.com"], raw) == {}

    assert redis_queues.get_queue("mail").count == 1
    assert InboundEmail.objects.filter(processed_at__isnull=True).count() == 6

    run_worker("mail")

    outcomes = list(InboundEmail.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [InboundEmail.Outcome.NEW_TICKET] * 5 + [InboundEmail.Outcome.REPLY]
    assert Ticket.objects.count() == 5
    reply = InboundEmail.objects.order_by("pk").last()
    assert reply.ticket == InboundEmail.objects.get(message_id="<burst-0@client.example.org>").ticket


@pytest.mark.django_db(transaction=True)
def test_mail_stored_while_no_job_ran_is_filed_by_the_sweep(regions, listener, redis_queues):
    from apps.mail import filing

    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        for n in range(3):
            client.sendmail("someone@example.org", ["support-eu@example.com"],
                            build_email(sender=f"lost{n}@example.org", subject=f"Lost {n}"))
    if redis_queues is not None:
        redis_queues.get_queue("mail").empty()   # the job is lost (a worker died with it)
    assert filing.process_pending(older_than=timedelta(0)) == (3 if redis_queues is not None else 0)
    assert set(InboundEmail.objects.values_list("outcome", flat=True)) == {InboundEmail.Outcome.NEW_TICKET}


@pytest.mark.django_db(transaction=True)
def test_a_line_longer_than_1000_bytes_is_accepted_and_stored_as_sent(regions, listener):
    raw = (b"From: ada@example.org\r\nTo: support-eu@example.com\r\nSubject: Long line\r\n"
           b"Message-ID: <long-line@client.example.org>\r\n\r\n<p>" + b"crash " * 1000 + b"</p>\r\n")
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        assert client.sendmail("ada@example.org", ["support-eu@example.com"], raw) == {}
    assert bytes(InboundEmail.objects.get().raw) == raw


@pytest.mark.django_db(transaction=True)
def test_a_message_over_the_limit_is_refused_with_552(regions, listener):
    raw = build_email(body=("x" * 70 + "\n") * 500).replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("size") and int(client.esmtp_features["size"]) == 20_000
        # Without SIZE= in MAIL FROM the server must refuse during DATA.
        client.mail("ada@example.org")
        client.rcpt("support-eu@example.com")
        code, message = client.data(raw)

    assert code == 552
    assert not InboundEmail.objects.exists()


def test_the_listener_answers_451_when_the_database_is_down():
    port = free_port()
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable", "DEBUG": "1",
           "REDIS_URL": "", "LOG_LEVEL": "CRITICAL"}
    server = subprocess.Popen([sys.executable, "manage.py", "smtp_server", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline, "smtp_server did not start"
                time.sleep(0.2)
        with client, pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("ada@example.org", ["support-eu@example.com"], build_email())
        assert refused.value.smtp_code == 451
    finally:
        server.terminate()
        server.wait(timeout=10)

"""Background work of the mail app; jobs take ids, so a rerun repeats nothing harmful."""

import time

from django.conf import settings

from apps.mail import filing, intake

FILING_SECONDS = 60


def process_inbound_job(inbound_id: int) -> str:
    return filing.process_inbound(inbound_id=inbound_id).outcome


def file_pending_job() -> int:
    """File whatever the live paths stored, in batches (queued by ``intake.queue_filing``).

    A job runs for a minute at most, well inside rq's timeout; under steady mail it hands
    on to the next job instead of being killed mid-batch.
    """
    intake.filing_started()
    started = time.monotonic()
    # Parse processes only under a real worker: embedded, this job runs in a server's thread, where forking is unsafe.
    processes = settings.MAIL_PARSE_PROCESSES if settings.REDIS_URL else 1
    done = filing.file_pending(seconds=FILING_SECONDS, processes=processes)
    if time.monotonic() - started >= FILING_SECONDS:   # stopped with mail left: the next job goes on
        intake.queue_filing()
    return done


def process_pending_job() -> int:
    return filing.process_pending()


def poll_imap_job() -> int:
    """One poll of the configured IMAP folder (IMAP_* settings)."""
    from apps.mail.imap import ImapAccount, ImapFolder, poll_imap

    folder = ImapFolder(ImapAccount.from_settings())
    try:
        return poll_imap(folder=folder).fetched
    finally:
        folder.close()

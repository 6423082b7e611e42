"""Background work of the mail app; jobs take ids, so a rerun repeats nothing harmful."""

import time

from django.conf import settings

from apps.mail import filing, intake


def process_inbound_job(inbound_id: int) -> str:
    return filing.process_inbound(inbound_id=inbound_id).outcome


def file_pending_job() -> int:
    """File whatever the live paths stored, in batches (queued by ``intake.queue_filing``).

    A job files for one slice (``MAIL_FILING_SLICE_SECONDS``, well inside rq's timeout); under
    steady mail it hands on to the next job, which the worker takes after one job of each of
    its other queues: a flood of mail delays a caller's ticket by a slice at most.
    """
    intake.filing_started()
    started = time.monotonic()
    # Parse processes only under a real worker: embedded, this job runs in a server's thread, where forking is unsafe.
    processes = settings.MAIL_PARSE_PROCESSES if settings.REDIS_URL else 1
    done = filing.file_pending(seconds=settings.MAIL_FILING_SLICE_SECONDS, processes=processes)
    if done and time.monotonic() - started >= settings.MAIL_FILING_SLICE_SECONDS:   # mail may be left
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

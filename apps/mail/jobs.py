"""Background work of the mail app; jobs take ids, so a rerun repeats nothing harmful."""

from django.conf import settings

from apps.mail import filing, intake
from supportdesk.jobs import Slice

# This worker process's parse-ahead, kept from one filing job to the next.
_ahead: filing.ParseAhead | None = None


def process_inbound_job(inbound_id: int) -> str:
    return filing.process_inbound(inbound_id=inbound_id).outcome


def file_pending_job() -> int:
    """File whatever the live paths stored, in batches (queued by ``intake.queue_filing``).

    A job files for one slice (``MAIL_FILING_SLICE_SECONDS``, well inside rq's timeout), or
    until another of the worker's queues has a job waiting (``Slice``); under steady mail it
    then hands on to the next job, which the worker takes after one job of each of its other
    queues: a flood of mail delays a caller's ticket by one batch. The next batch, parsed
    ahead, waits for the next job in this process (``_ahead``).
    """
    global _ahead
    intake.filing_started()
    # Parse processes only under a real worker: embedded, this job runs in a server's thread, where forking is unsafe.
    processes = settings.MAIL_PARSE_PROCESSES if settings.REDIS_URL else 1
    if _ahead is None or _ahead.processes != processes:
        _ahead = filing.ParseAhead(processes)
    turn = Slice(settings.MAIL_FILING_SLICE_SECONDS)
    done = filing.file_pending(until=turn.over, processes=processes, ahead=_ahead)
    if turn.ended:   # mail may be left
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

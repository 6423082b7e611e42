"""Background work of the mail app; jobs take ids, so a rerun repeats nothing harmful."""

from apps.mail import filing


def process_inbound_job(inbound_id: int) -> str:
    return filing.process_inbound(inbound_id=inbound_id).outcome


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

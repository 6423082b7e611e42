"""The transcript a visitor asks for, as a mail in the outbox (rendered now, sent after the commit)."""

import uuid

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from apps.chat import selectors
from apps.chat.models import Conversation
from apps.mail import tokens
from apps.outbox.email import send_email_later
from apps.policy.services import mailbox_for


def send_transcript_later(conversation: Conversation) -> int:
    """Mail the whole transcript to the visitor, in the chat's language; returns the lines it holds."""
    lines = selectors.transcript(conversation_id=conversation.pk)
    with translation.override(conversation.language):
        # The tag [SD-…] files the visitor's answer to this mail on the chat's ticket.
        subject = _("Your chat transcript [%(reference)s]") % {"reference": conversation.ticket.reference}
        body = render_to_string("chat/transcript.txt", {
            "conversation": conversation, "lines": lines, "zone": conversation.visitor_time_zone or "UTC"})
    # From the region's mailbox, and the ticket's token in Reply-To and Message-ID: "reply to this
    # email" then reaches the desk and files on this ticket.
    sender = mailbox_for(region_id=conversation.ticket.region_id, language=conversation.language)
    reference = conversation.ticket.reference
    send_email_later(key=f"chat-transcript:{conversation.pk}:{uuid.uuid4().hex}", subject=subject, body=body,
                     to=[conversation.visitor_email], from_email=sender,
                     reply_to=[tokens.reply_address(sender, reference)],
                     headers={"Message-ID": tokens.message_id(reference)})
    return len(lines)

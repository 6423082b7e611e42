"""Background chat work: the transcript email (rq queue ``mail``), ending idle chats (cron)."""

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from apps.chat import selectors, services
from apps.mail import tokens
from apps.policy.services import mailbox_for


def send_transcript(conversation_id: str) -> int:
    """Email the whole transcript to the visitor, in the chat's language; returns the lines sent."""
    conversation = selectors.conversation(conversation_id=conversation_id)
    if conversation is None or not conversation.visitor_email:
        return 0
    lines = selectors.transcript(conversation_id=conversation_id)
    with translation.override(conversation.language):
        # The tag [SD-…] names the ticket; the token in Reply-To and Message-ID files the answer on it.
        subject = _("Your chat transcript [%(reference)s]") % {"reference": conversation.ticket.reference}
        body = render_to_string("chat/transcript.txt", {
            "conversation": conversation, "lines": lines, "zone": conversation.visitor_time_zone or "UTC"})
    # From the region's mailbox: "reply to this email" then reaches the desk, on this ticket.
    sender = mailbox_for(region_id=conversation.ticket.region_id, language=conversation.language)
    reference = conversation.ticket.reference
    EmailMessage(subject, body, sender, [conversation.visitor_email],
                 reply_to=[tokens.reply_address(sender, reference)],
                 headers={"Message-ID": tokens.message_id(reference)}).send()
    return len(lines)


IDLE_CHECK_SECONDS = 60


def end_idle_chats_job() -> int:
    """Every minute: chats with an agent and no line for CHAT_IDLE_END_MINUTES are ended."""
    return services.end_idle_conversations()

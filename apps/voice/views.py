"""What agents use of the phone line: the softphone's token, logging a call back, a voicemail's audio.

Each view asks the one ticket rule (``apps.tickets.access``); outside it a ticket is not found.
"""

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from apps.desk import actions
from apps.policy.languages import Channel
from apps.tickets import access
from apps.tickets.models import Message, Ticket
from apps.voice.bridge import client_identity
from apps.voice.models import Call

TOKEN_SECONDS = 3600


def softphone_enabled() -> bool:
    return bool(settings.TWILIO_ENABLED and settings.TWILIO_API_KEY and settings.TWILIO_API_SECRET
                and settings.TWILIO_TWIML_APP_SID)


def takes_calls(user) -> bool:
    profile = getattr(user, "agent_profile", None)
    return access.works_tickets(user) and profile is not None and Channel.VOICE in profile.channels


@never_cache
@login_required
def token(request):
    """A Voice access token for the agent's browser softphone: it receives the calls bridged to this agent."""
    if not softphone_enabled() or not takes_calls(request.user):
        raise Http404("no softphone")
    grant = VoiceGrant(outgoing_application_sid=settings.TWILIO_TWIML_APP_SID, incoming_allow=True)
    identity = client_identity(request.user)
    jwt = AccessToken(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_API_KEY, settings.TWILIO_API_SECRET,
                      identity=identity, ttl=TOKEN_SECONDS, grants=[grant])
    return JsonResponse({"token": jwt.to_jwt(), "identity": identity, "expires_in": TOKEN_SECONDS})


def _ticket(request, reference: str) -> Ticket:
    ticket = Ticket.objects.filter(reference=reference).first()
    if ticket is None or not access.can_act_on(request.user, ticket):
        raise Http404(reference)
    return ticket


@require_POST
@login_required
def log_callback(request, reference):
    """The agent called the user back (or wraps up a call): their summary lands on the ticket as the answer."""
    ticket = _ticket(request, reference)
    summary = (request.POST.get("summary") or "").strip()
    if summary:
        actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=request.user,
                            channel=Channel.VOICE, body=_("Phone call: %(summary)s") % {"summary": summary[:4000]})
    return redirect("console:ticket", reference)


@login_required
def recording(request, reference, call_id):
    """A voicemail's audio, fetched from Twilio with the desk's credentials for an agent who may see the ticket."""
    ticket = _ticket(request, reference)
    call = get_object_or_404(Call, pk=call_id, ticket=ticket)
    if not call.recording_url or not settings.TWILIO_ENABLED:
        raise Http404("no recording")
    try:
        answer = requests.get(call.recording_url + ".mp3", timeout=settings.TWILIO_TIMEOUT_SECONDS,
                              auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN))
    except requests.RequestException:
        return HttpResponse(_("The recording cannot be fetched now."), status=502, content_type="text/plain")
    if answer.status_code != 200:
        return HttpResponse(_("The recording cannot be fetched now."), status=502, content_type="text/plain")
    response = HttpResponse(answer.content, content_type="audio/mpeg")
    response["Cache-Control"] = "private, no-store"
    return response

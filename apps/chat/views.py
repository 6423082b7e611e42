"""Chat pages: the widget's demo page, and the console chat panel's file upload."""

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST

from apps.chat import events, selectors, services
from apps.chat.models import Entry
from apps.console.views import agent_required
from apps.policy.services import demo_mode_on
from apps.tickets.access import can_act_on, is_manager


@xframe_options_exempt
def widget_demo(request):
    entry_point = request.GET.get("entry_point", "widget-europe")[:100]
    return render(request, "chat/demo.html", {"entry_point": entry_point, "demo_mode": demo_mode_on()})


def _error(refused: services.Refused, status: int) -> JsonResponse:
    return JsonResponse({"type": "error", "code": refused.code, "detail": refused.detail,
                         "client_id": refused.client_id}, status=status)


@require_POST
@agent_required
def agent_attachment(request, reference):
    """The agent sends a file in the chat: checked and stored as a visitor's is, then pushed to the visitor.

    Answers with the ``chat.ack`` the panel would get on its socket, plus the stored files.
    """
    conversation = selectors.conversation_for_ticket(reference=reference)
    if conversation is None or not can_act_on(request.user, conversation.ticket):
        raise Http404(reference)
    client_id, file = request.POST.get("client_id", ""), request.FILES.get("file")
    if file is None or not client_id:
        return _error(services.Refused("bad_request", _("Choose a file to send."), client_id), 400)
    item = services.received_upload(file, sender=Entry.Sender.AGENT, client_id=client_id,
                                    conversation_id=conversation.pk, user_id=request.user.pk,
                                    may_override=is_manager(request.user))
    if isinstance(item, services.Refused):
        return _error(item, services.UPLOAD_REFUSAL_STATUS[item.code])
    result = services.send_file(item)
    if isinstance(result, services.Refused):
        return _error(result, 409)
    return JsonResponse({**events.ack_frame(result, type_="chat.ack"), "ticket": result.ticket,
                         "attachments": list(result.attachments)}, status=201)

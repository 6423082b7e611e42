"""Chat fixtures: an online Swedish chat agent, conversations, sockets over the channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.services import make_agent
from apps.chat import services
from apps.chat.models import Conversation
from apps.chat.tokens import visitor_token
from apps.routing.models import AgentState
from supportdesk.routing import websocket_urlpatterns
from tests.sockets import PatientCommunicator

application = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def writer_connections():
    """The chat writer's own database connections must not outlive the test (or its database)."""
    yield
    from apps.chat.writer import close_connections

    close_connections()


@pytest.fixture
def online_agent(regions, queues):
    user = get_user_model().objects.create_user("agent_sv", email="sv@example.com", first_name="Sara",
                                                last_name="Berg")
    make_agent(user=user, languages=["sv"], channels=["chat", "email"])
    AgentState.objects.create(user=user, presence="online", last_seen_at=timezone.now())
    return get_user_model().objects.get(pk=user.pk)


def start(language="sv", name="Ada Lind", email="ada@example.com", **extra):
    return services.start_conversation(language=language, name=name, email=email, entry_point="widget-europe",
                                       check_availability=False, **extra)


@pytest.fixture
def conversation(online_agent):
    """A Swedish chat, taken by the online agent."""
    from apps.desk.actions import take_ticket

    conversation = start()
    take_ticket(ticket=conversation.ticket, user=online_agent)
    # The ticket is loaded now: async test code may read conversation.ticket without a query.
    return Conversation.objects.select_related("ticket").get(pk=conversation.pk)


async def visitor_socket(conversation_id, token=None, after=None):
    token = visitor_token(conversation_id) if token is None else token
    path = f"/ws/chat/{conversation_id}/?token={token}" + (f"&after={after}" if after is not None else "")
    communicator = PatientCommunicator(application, path)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def agent_socket(user):
    communicator = PatientCommunicator(application, "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator


async def frames_until(communicator, predicate, limit=50, timeout=3):
    seen = []
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=timeout)
        seen.append(frame)
        if predicate(frame):
            return frame
    raise AssertionError(f"expected frame never came; saw {seen}")


def run(coroutine_function):
    return async_to_sync(coroutine_function)()

"""The console websocket over the real Redis channel layer: auth, scoping, resync, offers."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.routing.models import AgentState, Offer
from apps.tickets import services as tickets
from supportdesk.routing import websocket_urlpatterns
from tests.sockets import PatientCommunicator

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
application = URLRouter(websocket_urlpatterns)


def agent(name, languages, channels=("chat", "email")):
    user = User.objects.create_user(name, email=f"{name}@example.com")
    make_agent(user=user, languages=list(languages), channels=list(channels))
    return User.objects.get(pk=user.pk)


async def connected(user):
    communicator = PatientCommunicator(application, "/ws/console/")
    communicator.scope["user"] = user
    ok, code = await communicator.connect()
    return communicator, ok, code


async def frames_until(communicator, predicate, limit=20):
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=3)
        if predicate(frame):
            return frame
    raise AssertionError("expected frame never came")


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def test_unauthenticated_sockets_are_closed_with_4401(regions, queues, flushed_layer):
    from django.contrib.auth.models import AnonymousUser

    async def scenario():
        _, ok, code = await connected(AnonymousUser())
        assert (ok, code) == (False, 4401)
    run(scenario)


def test_signed_in_non_agents_are_closed_with_4403(regions, queues, flushed_layer):
    customer = User.objects.create_user("customer")

    async def scenario():
        _, ok, code = await connected(customer)
        assert (ok, code) == (False, 4403)
    run(scenario)


def test_an_agent_receives_only_what_their_queues_allow(regions, queues, flushed_layer):
    swede, german = agent("swede", ["sv"]), agent("german", ["de"])
    contact_sv = tickets.find_or_create_contact(email="sv@example.com", language="sv", region=regions["europe"])
    contact_de = tickets.find_or_create_contact(email="de@example.com", language="de", region=regions["europe"])

    async def scenario():
        sv_socket, ok, _ = await connected(swede)
        assert ok
        assert (await sv_socket.receive_json_from())["type"] == "hello"
        de_socket, _, _ = await connected(german)
        await de_socket.receive_json_from()
        from channels.db import database_sync_to_async

        german_ticket = await database_sync_to_async(actions.open_ticket)(
            channel="email", contact=contact_de, subject="Hallo", body="x", external_ref="de-1")
        swedish_ticket = await database_sync_to_async(actions.open_ticket)(
            channel="email", contact=contact_sv, subject="Hej", body="x", external_ref="sv-1")
        frame = await frames_until(sv_socket, lambda f: f.get("type") == "ticket.event")
        assert frame["ticket"]["reference"] == swedish_ticket.reference
        assert frame["kind"] == "opened"
        seen = [frame]
        while not await sv_socket.receive_nothing(timeout=0.3):
            seen.append(await sv_socket.receive_json_from())
        assert all(f["ticket"]["reference"] != german_ticket.reference for f in seen if "ticket" in f)
        frame = await frames_until(de_socket, lambda f: f.get("type") == "ticket.event")
        assert frame["ticket"]["reference"] == german_ticket.reference
        await sv_socket.disconnect()
        await de_socket.disconnect()
    run(scenario)


def test_a_reconnecting_console_gets_every_missed_event_in_order(regions, queues, flushed_layer, contact):
    swede = agent("swede", ["sv"])
    first = actions.open_ticket(channel="email", contact=contact, subject="one", body="x", external_ref="m1")
    cursor = first.events.order_by("-pk").first().pk
    second = actions.open_ticket(channel="email", contact=contact, subject="two", body="x", external_ref="m2")
    actions.change_status(ticket=first, to="pending")

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        await socket.send_json_to({"type": "resync", "after": cursor})
        replayed = []
        while True:
            frame = await socket.receive_json_from()
            if frame["type"] == "resynced":
                break
            replayed.append(frame)
        ids = [f["id"] for f in replayed]
        assert ids == sorted(ids) and min(ids) > cursor
        kinds = [(f["ticket"]["reference"], f["kind"]) for f in replayed]
        assert (second.reference, "opened") in kinds and (first.reference, "status") in kinds
        await socket.disconnect()
    run(scenario)


def test_offers_reach_the_agent_and_a_late_second_accept_is_told(regions, queues, flushed_layer, contact):
    from django.utils import timezone

    swede, other = agent("swede", ["sv"]), agent("other", ["sv"])
    for user in (swede, other):
        AgentState.objects.create(user=user, presence="online", last_seen_at=timezone.now())

    async def scenario():
        from channels.db import database_sync_to_async

        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        other_socket, _, _ = await connected(other)
        await other_socket.receive_json_from()
        ticket = await database_sync_to_async(actions.open_ticket)(
            channel="chat", contact=contact, subject="", body="hej", external_ref="conv-1")
        offer = await database_sync_to_async(lambda: Offer.objects.get(ticket=ticket))()
        target_socket = socket if offer.agent_id == swede.pk else other_socket
        loser_socket = other_socket if target_socket is socket else socket
        frame = await frames_until(target_socket, lambda f: f.get("type") == "offer")
        assert frame["ticket"] == ticket.reference
        await loser_socket.send_json_to({"type": "take", "ticket": ticket.reference})
        assert (await frames_until(loser_socket, lambda f: f.get("type") == "accepted"))["ticket"] == ticket.reference
        await target_socket.send_json_to({"type": "accept", "offer": frame["offer"]})
        error = await frames_until(target_socket, lambda f: f.get("type") == "error")
        assert error["request"] == "accept"
        await socket.disconnect()
        await other_socket.disconnect()
    run(scenario)


def test_an_offer_whose_push_was_lost_is_shown_on_connect_and_on_resync(regions, queues, flushed_layer, contact):
    """Offers are pushed once; a console that (re)connects or resyncs gets its open ones again."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    swede = agent("swede", ["sv"])
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        ticket = actions.open_ticket(channel="chat", contact=contact, subject="Hjälp", body="hej",
                                     external_ref="conv-lost")
        now = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
        open_offer = Offer.objects.create(ticket=ticket, agent=swede, offered_at=now,
                                          expires_at=now + timedelta(seconds=30))
        Offer.objects.create(ticket=ticket, agent=swede, offered_at=now - timedelta(minutes=5),
                             expires_at=now - timedelta(minutes=4), status=Offer.Status.EXPIRED)

        async def scenario():
            socket, _, _ = await connected(swede)
            assert (await socket.receive_json_from())["type"] == "hello"
            offer = await socket.receive_json_from()
            assert (offer["type"], offer["offer"], offer["ticket"]) == ("offer", open_offer.pk, ticket.reference)
            await socket.send_json_to({"type": "resync", "after": 10**9})
            assert (await socket.receive_json_from())["type"] == "resynced"
            assert (await socket.receive_json_from())["offer"] == open_offer.pk
            assert await socket.receive_nothing(timeout=0.3)      # the expired one is not shown
            await socket.disconnect()
        run(scenario)


def test_bad_frames_get_an_error_frame_not_a_crash(regions, queues, flushed_layer):
    swede = agent("swede", ["sv"])

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        await socket.send_json_to({"type": "launch-missiles"})
        assert (await socket.receive_json_from())["error"] == "unknown_type"
        await socket.send_json_to({"type": "accept"})
        assert (await socket.receive_json_from())["error"] == "bad_frame"
        await socket.send_json_to({"type": "heartbeat"})
        assert (await socket.receive_json_from())["type"] == "heartbeat"
        await socket.disconnect()
    run(scenario)


def test_two_agents_on_one_ticket_are_told_about_each_other(regions, queues, flushed_layer, contact):
    first, second = agent("first", ["sv"]), agent("second", ["sv"])
    ticket = actions.open_ticket(channel="email", contact=contact, subject="x", body="x", external_ref="v1")

    async def scenario():
        a, _, _ = await connected(first)
        await a.receive_json_from()
        b, _, _ = await connected(second)
        await b.receive_json_from()
        await a.send_json_to({"type": "viewing", "ticket": ticket.reference})
        await frames_until(a, lambda f: f.get("type") == "viewers")
        await b.send_json_to({"type": "viewing", "ticket": ticket.reference})
        seen = await frames_until(a, lambda f: f.get("type") == "viewers" and len(f["agents"]) == 2)
        assert seen["agents"] == ["first", "second"] and seen["ticket"] == ticket.reference
        await b.send_json_to({"type": "viewing", "ticket": ticket.reference, "leaving": True})
        left = await frames_until(a, lambda f: f.get("type") == "viewers" and len(f["agents"]) == 1)
        assert left["agents"] == ["first"]
        await a.disconnect()
        await b.disconnect()
    run(scenario)


def test_one_transaction_is_pushed_once_and_a_rollback_pushes_nothing(regions, queues, contact, monkeypatch):
    from django.db import transaction

    from apps.console import events

    published = []
    monkeypatch.setattr(events, "publish_events", lambda ids: published.append(list(ids)))
    ticket = actions.open_ticket(channel="email", contact=contact, subject="x", body="x", external_ref="b1")
    assert len(published) == 1 and len(published[0]) >= 2          # opened + message (+ routing)
    published.clear()
    try:
        with transaction.atomic():
            actions.change_status(ticket=ticket, to="pending")
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert published == []
    actions.change_status(ticket=ticket, to="open")
    assert len(published) == 1 and len(published[0]) == 1


def test_heartbeats_ask_for_two_resyncs_after_redis_came_back_empty(regions, queues, flushed_layer):
    """A Redis restart loses the pushes published around it without closing the socket."""
    from django.core.cache import cache

    from apps.console.push import EPOCH_KEY

    swede = agent("swede", ["sv"])

    async def heartbeat(socket):
        await socket.send_json_to({"type": "heartbeat"})
        return await frames_until(socket, lambda f: f.get("type") == "heartbeat")

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        assert (await heartbeat(socket))["resync"] is False
        await database_sync_to_async(cache.delete)(EPOCH_KEY)      # what a restart without persistence does
        assert [(await heartbeat(socket))["resync"] for _ in range(3)] == [True, True, False]
        await socket.disconnect()
    run(scenario)


@pytest.fixture
def no_belief():
    """Forget a console mark this process saw in an earlier test (the layer's Redis is flushed between them)."""
    from apps.console import push

    push._Listening.seen_at = float("-inf")
    yield
    push._Listening.seen_at = float("-inf")


@pytest.mark.redis(reason="the open-console mark lives in Redis; embedded, the layer's own groups say")
def test_with_no_console_open_anywhere_no_push_is_built(regions, queues, flushed_layer, no_belief, contact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.console.events import publish_events

    swede = agent("swede", ["sv"])
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Hej", body="x", external_ref="n1")
    ids = list(ticket.events.values_list("pk", flat=True))

    def queries_to_publish() -> int:
        with CaptureQueriesContext(connection) as queries:
            publish_events(ids)
        return len(queries)
    assert queries_to_publish() == 0        # nothing read to describe events no console would receive

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        assert await database_sync_to_async(queries_to_publish)() > 0
        frame = await frames_until(socket, lambda f: f.get("type") == "ticket.event")
        assert frame["ticket"]["reference"] == ticket.reference
        await socket.disconnect()
    run(scenario)


@pytest.mark.redis(reason="the open-console mark lives in Redis")
def test_a_console_whose_open_mark_lapsed_resyncs_once(regions, queues, flushed_layer, no_belief):
    """The mark expires when heartbeats stop reaching Redis; writers skipped pushes meanwhile."""
    from django.core.cache import cache

    from apps.console.push import LISTENING_KEY, anyone_listening

    swede = agent("swede", ["sv"])

    async def heartbeat(socket):
        await socket.send_json_to({"type": "heartbeat"})
        return (await frames_until(socket, lambda f: f.get("type") == "heartbeat"))["resync"]

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        assert await heartbeat(socket) is False
        await database_sync_to_async(cache.delete)(LISTENING_KEY)
        assert await database_sync_to_async(anyone_listening)() is False
        assert [await heartbeat(socket) for _ in range(2)] == [True, False]
        assert await database_sync_to_async(anyone_listening)() is True
        await socket.disconnect()
    run(scenario)


@pytest.mark.redis(reason="a Redis channel layer whose cache cannot be read")
def test_when_redis_cannot_say_whether_a_console_is_open_the_push_is_tried(settings, no_belief):
    from apps.console.push import anyone_listening

    settings.CACHES = {"default": {"BACKEND": "supportdesk.cache.SharedRedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",      # nothing listens on port 1
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    assert anyone_listening() is True


def test_the_server_asks_an_open_console_for_its_heartbeat(regions, queues, flushed_layer, settings):
    """A hidden tab's timers run late (Chrome: once a minute); the socket asks, so the agent stays online."""
    from datetime import timedelta

    from django.utils import timezone

    settings.CONSOLE_HEARTBEAT_SECONDS = 0.2
    swede = agent("swede", ["sv"])

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        long_ago = timezone.now() - timedelta(minutes=5)
        await database_sync_to_async(AgentState.objects.filter(user=swede).update)(last_seen_at=long_ago)
        await frames_until(socket, lambda f: f.get("type") == "heartbeat.due")
        await socket.send_json_to({"type": "heartbeat"})        # what console.js answers
        await frames_until(socket, lambda f: f.get("type") == "heartbeat")
        state = await database_sync_to_async(AgentState.objects.get)(user=swede)
        assert state.last_seen_at > long_ago + timedelta(minutes=4) and state.presence == "online"
        await frames_until(socket, lambda f: f.get("type") == "heartbeat.due")     # and again
        await socket.disconnect()
    run(scenario)

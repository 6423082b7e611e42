"""Chat pushes over the real Redis pub/sub layer: a batch's pushes arrive as group_send delivers them."""

import asyncio
import socket

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from apps.chat import events

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


async def received(layer, channel, count):
    return [(await asyncio.wait_for(layer.receive(channel), 5))["text"] for _ in range(count)]


@pytest.mark.redis(reason="pipelines pushes through the Redis pub/sub layer")
def test_a_batch_of_pushes_goes_out_in_one_pipeline_and_arrives_in_order(monkeypatch):
    pipelined = []
    real = events._publish_pipelined

    async def counted(layer, pushes):
        pipelined.append(len(pushes))
        await real(layer, pushes)

    monkeypatch.setattr(events, "_publish_pipelined", counted)

    async def run():
        layer = get_channel_layer()
        assert isinstance(layer, RedisPubSubChannelLayer)
        visitor, agent = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("pipeline-visitor", visitor)
        await layer.group_add("pipeline-agent", agent)
        await events.publish([("pipeline-visitor", {"type": "chat.push", "text": "1"}),
                              ("pipeline-agent", {"type": "desk.event", "text": "2"}),
                              ("pipeline-visitor", {"type": "chat.push", "text": "3"})], layer)
        await layer.group_send("pipeline-visitor", {"type": "chat.push", "text": "4"})
        result = await received(layer, visitor, 3), await received(layer, agent, 1)
        await layer.flush()
        return result

    assert async_to_sync(run)() == (["1", "3", "4"], ["2"])
    assert pipelined == [3]


def test_pushes_to_a_redis_that_is_gone_are_logged_not_raised(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]      # nothing listens here once the socket closes

    async def run():
        layer = RedisPubSubChannelLayer(hosts=[f"redis://127.0.0.1:{port}/0"])
        await events.publish([("g", {"type": "chat.push", "text": "1"}), ("h", {"type": "chat.push", "text": "2"})],
                             layer)
        await events.publish([("g", {"type": "chat.push", "text": "3"})], layer)

    async_to_sync(run)()
    assert [r.getMessage().split(" failed")[0] for r in caplog.records] == [
        "chat pushes to ['g', 'h']", "chat pushes to ['g']"]


def test_a_redis_that_never_answers_holds_pushes_for_a_bounded_time(caplog, monkeypatch):
    """A partition: the connection opens and nothing comes back. The writer must not wait forever."""
    monkeypatch.setattr(events, "PUBLISH_SECONDS", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()                    # the kernel accepts; nobody ever reads or answers
        port = silent.getsockname()[1]

        async def run():
            layer = RedisPubSubChannelLayer(hosts=[f"redis://127.0.0.1:{port}/0"])
            started = asyncio.get_running_loop().time()
            await events.publish([("g", {"type": "chat.push", "text": "1"}),
                                  ("h", {"type": "chat.push", "text": "2"})], layer)
            return asyncio.get_running_loop().time() - started

        waited = async_to_sync(run)()
    assert 0.4 < waited < 3
    assert [r.getMessage() for r in caplog.records] == ["chat pushes to ['g', 'h'] failed"]


@pytest.mark.redis(reason="a Redis pub/sub layer whose internals changed")
def test_a_channels_redis_without_the_pipeline_internals_falls_back_to_group_send(monkeypatch):
    # As if a channels_redis release renamed one of the internals the pipeline reads.
    monkeypatch.setitem(events._PIPELINE_NEEDS, "shard", ("_lock", "_ensure_redis", "_redis", "_renamed"))
    monkeypatch.setattr(events, "_pipelining", {})

    def never(*args):
        raise AssertionError("the pipeline must not be used")

    monkeypatch.setattr(events, "_publish_pipelined", never)

    async def run():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("renamed-visitor", channel)
        await events.publish([("renamed-visitor", {"type": "chat.push", "text": "1"}),
                              ("renamed-visitor", {"type": "chat.push", "text": "2"})], layer)
        result = await received(layer, channel, 2), events.pipelining_supported(layer)
        await layer.flush()
        return result

    assert async_to_sync(run)() == (["1", "2"], False)

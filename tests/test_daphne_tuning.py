"""supportdesk.daphne_tuning: Twisted writes go out at once, autobahn's debug arguments wait."""

import socket

import pytest
from autobahn import util
from autobahn.websocket import protocol as autobahn_protocol
from twisted.internet import protocol, tcp
from twisted.web import http
from twisted.web.test.requesthelper import DummyChannel

from supportdesk import daphne_tuning


@pytest.fixture
def tuned():
    original = tcp.Connection.write, autobahn_protocol.hltype, autobahn_protocol.hlval
    daphne_tuning.apply()
    yield
    tcp.Connection.write, autobahn_protocol.hltype, autobahn_protocol.hlval = original


class _Reactor:
    """What tcp.Connection asks of a reactor when it writes: a record of sockets waiting to write."""

    def __init__(self):
        self.writers = set()

    def addWriter(self, descriptor):
        self.writers.add(descriptor)

    def removeWriter(self, descriptor):
        self.writers.discard(descriptor)


def _connection(sock):
    reactor = _Reactor()
    connection = tcp.Connection(sock, protocol.Protocol(), reactor=reactor)
    connection.connected = 1        # as tcp.Server sets it once the connection is accepted
    return connection, reactor


def test_a_write_goes_out_at_once_without_waiting_for_the_reactor(tuned):
    ours, theirs = socket.socketpair()
    connection, reactor = _connection(ours)
    connection.write(b'{"type": "ack"}')
    theirs.settimeout(2)
    assert theirs.recv(100) == b'{"type": "ack"}'
    assert reactor.writers == set() and connection.dataBuffer == b"" and not connection._tempDataBuffer
    ours.close(), theirs.close()


def test_what_the_kernel_does_not_take_is_queued_in_order_behind_the_sent_part(tuned):
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    connection, reactor = _connection(ours)
    data = bytes(range(256)) * 4096           # 1 MiB: more than the socket buffers hold
    connection.write(data)
    connection.write(b"after")
    assert reactor.writers == {connection}     # the rest waits for the socket to drain
    received = bytearray()
    theirs.setblocking(False)
    while len(received) < len(data) + 5:
        try:
            received += theirs.recv(1 << 16)
        except BlockingIOError:
            connection.doWrite()
    assert bytes(received) == data + b"after"
    ours.close(), theirs.close()


def test_a_write_to_a_lost_connection_is_left_to_twisted_to_report(tuned):
    ours, theirs = socket.socketpair()
    connection, reactor = _connection(ours)
    theirs.close()
    connection.write(b"x" * 100_000)           # the peer is gone: the send fails, nothing is raised
    assert reactor.writers == {connection}     # Twisted's doWrite finds the loss and closes
    ours.close()


def test_autobahns_debug_arguments_are_formatted_only_when_a_line_is_written(monkeypatch):
    formatted = []
    real_hltype = util.hltype
    monkeypatch.setattr(util, "hltype", lambda obj: formatted.append(obj) or real_hltype(obj))
    monkeypatch.setattr(autobahn_protocol, "hltype", autobahn_protocol.hltype)   # restored after the test
    monkeypatch.setattr(autobahn_protocol, "hlval", autobahn_protocol.hlval)
    monkeypatch.setattr(tcp.Connection, "write", tcp.Connection.write)
    daphne_tuning.apply()

    def handler():
        pass

    argument = autobahn_protocol.hltype(handler)      # as autobahn's sendData does on every frame
    assert formatted == []
    assert f"{argument}" == real_hltype(handler) == str(argument)
    assert formatted == [handler, handler]
    assert format(autobahn_protocol.hlval(42), "") == util.hlval(42)


class _Request(http.Request):
    """A Twisted request as daphne's subclasses it, recording that it was handed on."""

    __init__ = daphne_tuning.form_blind(http.Request.__init__)
    processed = False

    def process(self):
        self.processed = True


def _received(request_class, body: bytes):
    request = request_class(DummyChannel())
    request.requestHeaders.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
    request.gotLength(len(body))
    request.handleContentChunk(body)
    request.requestReceived(b"POST", b"/voice/language?misses=1", b"HTTP/1.1")
    return request


def test_a_form_post_reaches_daphne_unparsed_and_whole():
    body = b"CallSid=CA1&Digits=2&SpeechResult=svenska"
    request = _received(_Request, body)
    assert request.processed and request.content.read() == body
    assert request.args == {b"misses": [b"1"]}          # the query only: the body is daphne's to read
    assert _received(http.Request, body).args[b"Digits"] == [b"2"]      # what Twisted does by itself


def test_daphnes_requests_skip_the_form_parse_once_tuned_and_only_once(monkeypatch):
    from daphne.http_protocol import WebRequest

    monkeypatch.setattr(WebRequest, "__init__", WebRequest.__init__)
    monkeypatch.setattr(tcp.Connection, "write", tcp.Connection.write)
    monkeypatch.setattr(autobahn_protocol, "hltype", autobahn_protocol.hltype)
    monkeypatch.setattr(autobahn_protocol, "hlval", autobahn_protocol.hlval)
    daphne_tuning.apply()
    tuned = WebRequest.__init__
    daphne_tuning.apply()
    assert WebRequest.__init__ is tuned and tuned.form_blind

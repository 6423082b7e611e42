"""Costs of daphne's stack removed: two a chat server pays on every frame, one every form POST pays.

Profiled at 500 chat conversations (bench/RESULTS.md), with nothing changed in what is
sent or when:

- Twisted buffers every write and sends it on the reactor's next pass: it registers the
  socket for writing (an ``epoll_ctl``), waits a loop iteration, sends, and unregisters
  (another). That was ~8 % of daphne's CPU, and each frame waited for a busy loop to
  come round. ``write_through`` sends at once when nothing is queued before it, as
  asyncio's own transports do, and leaves anything the kernel does not take to Twisted.
- autobahn formats the arguments of a debug log line on every frame it sends, colouring
  them with click, even when debug logging is off: ~5 %. ``_Deferred`` formats them only
  when a log line is actually written.
- Twisted parses the body of every form POST into ``request.args``, which daphne never reads
  (it hands the raw body to the application). Its parse of the Content-Type header goes
  through ``email``'s header registry, which builds a new class each time: every Twilio
  webhook left about two classes of cyclic garbage, so the collector ran every second and a
  middle pass paused a server for 9-35 ms, the phone line's slowest answers (bench/RESULTS.md).
  ``form_blind`` makes daphne's requests skip it, as Twisted's own ``Site`` can
  (``parsePOSTFormSubmission=False``).

Beside them, ``settle_collector``: the garbage collector's settings of a server process.
"""

import gc
import os

from twisted.internet import tcp

_buffered_write = tcp.Connection.write      # Twisted's: through TLS when started, else buffered


def write_through(self, data: bytes) -> None:
    """Send now if nothing is waiting to go before ``data``; queue the rest as Twisted does."""
    if (data and not self.TLS and self.connected and not self.disconnecting and not self._writeDisconnected
            and not self._tempDataBuffer and self.offset == len(self.dataBuffer)):
        sent = self.writeSomeData(data)
        if isinstance(sent, int) and sent > 0:
            if sent == len(data):
                return
            data = bytes(memoryview(data)[sent:])
        # Nothing sent (the kernel's buffer is full, or the connection is lost): Twisted's
        # buffered write registers for writing, and its doWrite reports a lost connection.
    _buffered_write(self, data)


class _Deferred:
    """A log argument formatted only if the line is written."""

    __slots__ = ("function", "args")

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __str__(self):
        return str(self.function(*self.args))

    def __format__(self, spec):
        return format(self.function(*self.args), spec)


def _deferred(function):
    def defer(*args):
        return _Deferred(function, *args)
    return defer


def form_blind(init):
    """``init`` (a Twisted request's ``__init__``) with ``parsePOSTFormSubmission`` off unless asked for."""
    if getattr(init, "form_blind", False):
        return init

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        init(self, *args, **kwargs)
    __init__.form_blind = True
    return __init__


def apply() -> None:
    """Install all three; idempotent. Called where daphne loads the application (supportdesk/asgi.py)."""
    from autobahn import util
    from autobahn.websocket import protocol
    from daphne.http_protocol import WebRequest

    tcp.Connection.write = write_through
    protocol.hltype, protocol.hlval = _deferred(util.hltype), _deferred(util.hlval)
    WebRequest.__init__ = form_blind(WebRequest.__init__)


def settle_collector() -> None:
    """Freeze what is loaded and make full passes rare; called once the application is loaded.

    Everything loaded so far (Django, the apps, catalogues, language data) lives as long as the
    process. Frozen, it is left out of the collector's full passes, which otherwise re-scanned
    it all and paused every socket of the server for tens to hundreds of milliseconds.
    What the chat servers create later (a socket's protocol, consumer and tasks) lives as long as
    the socket. A full pass scans all of it: ~120-180 ms with 1,000 sockets on a 2-core machine,
    a stall every chat on the process feels. CPython runs one after every 10 middle passes (when
    a quarter of the old objects are new); here after 100, and young passes every 7,000 net
    allocations instead of 700 (``GC_THRESHOLDS``). Cycles are still collected, later (bench/RESULTS.md).
    """
    gc.freeze()
    gc.set_threshold(*(int(n) for n in os.environ.get("GC_THRESHOLDS", "7000,10,100").split(",")))

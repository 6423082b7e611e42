"""daphne on uvloop, for the chat benchmark: ``python bench/daphne_uvloop.py <daphne arguments>``.

daphne runs Twisted on an asyncio loop it creates when ``daphne.server`` is imported;
choosing uvloop's policy first makes that loop uvloop's. Measured beside plain daphne in
bench/RESULTS.md (no reliable gain for the chat workload), so the desk does not use it.

``python bench/daphne_uvloop.py --smoke`` is the test suite's check: it says which loop
daphne got, serves the desk on a free port of 127.0.0.1, asks for ``/`` once, and stops.
"""

import asyncio
import sys

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # noqa: E402  (after the policy, by design)


def smoke() -> int:
    import http.client
    import os
    import signal
    import socket
    import subprocess
    import time
    from pathlib import Path

    import daphne.server

    loop = type(daphne.server.twisted_loop)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, __file__, "-b", "127.0.0.1", "-p", str(port),
                               "supportdesk.asgi:application"], cwd=root,
                              env={"DJANGO_SETTINGS_MODULE": "supportdesk.settings", **os.environ},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started, deadline = time.monotonic(), time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print(server.stderr.read().decode(errors="replace")[-2000:], file=sys.stderr)
                    return 1
                time.sleep(0.1)
        listening = time.monotonic() - started
        asked = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        status = connection.getresponse().status
        answered_ms = (time.monotonic() - asked) * 1000
        connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    ok = loop.__module__.startswith("uvloop") and status < 500
    print(f"daphne on {loop.__module__}.{loop.__name__}: listening after {listening:.1f} s, "
          f"GET / answered {status} in {answered_ms:.1f} ms — {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--smoke"]:
        sys.exit(smoke())
    CommandLineInterface.entrypoint()

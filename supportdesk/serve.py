"""The embedded desk in one process: daphne, with the SMTP listener and the periodic jobs inside.

Without Redis the channel layer lives in one process's memory, so whatever pushes to a
console (mail filed by the SMTP listener, an SLA breach, an offer moving on) must run
in the process that holds the consoles' sockets. As separate processes, the listener
and the job loop filed mail and swept clocks that no console saw until a reload.

Both run on daphne's event loop; their database work runs in threads entered through
``sync_to_async``, so their pushes come back to that loop. Usage (the launcher's):
``python -m supportdesk.serve --smtp-port 2525 -- <daphne arguments>``.
"""

import daphne.server  # noqa: F401,I001  (installs Twisted's asyncio reactor: must come first)

import argparse
import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from daphne.cli import CommandLineInterface
from twisted.internet import reactor

log = logging.getLogger("supportdesk.serve")
TICK_SECONDS = 1.0
_tasks: set[asyncio.Task] = set()


async def run_schedule() -> None:
    """The periodic jobs of supportdesk.schedule, checked every second, one at a time."""
    from supportdesk.schedule import Ticker, periodic_jobs

    ticker = Ticker(periodic_jobs())
    run_due = sync_to_async(ticker.run_due, thread_sensitive=False,
                            executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="periodic"))
    while True:
        await run_due()
        await asyncio.sleep(TICK_SECONDS)


async def start_services(*, smtp_host: str, smtp_port: int) -> None:
    from apps.mail.smtp import serve_in_loop

    try:
        await serve_in_loop(host=smtp_host, port=smtp_port)
    except OSError as error:
        log.error("SMTP listener could not start on %s:%s (%s); stopping", smtp_host, smtp_port, error)
        reactor.stop()
        return
    log.info("SMTP listener on %s:%s and the periodic jobs run in this process", smtp_host, smtp_port)
    await run_schedule()


def _start(smtp_host: str, smtp_port: int) -> None:
    task = asyncio.ensure_future(start_services(smtp_host=smtp_host, smtp_port=smtp_port))
    _tasks.add(task)          # the loop keeps only a weak reference to a task
    task.add_done_callback(_tasks.discard)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=2525)
    ours, daphne_args = parser.parse_known_args(argv)
    if daphne_args[:1] == ["--"]:
        daphne_args = daphne_args[1:]
    # A timed call runs once the reactor's loop is running, after the application is loaded.
    reactor.callLater(0, _start, ours.smtp_host, ours.smtp_port)
    CommandLineInterface().run(daphne_args)


if __name__ == "__main__":
    main(sys.argv[1:])

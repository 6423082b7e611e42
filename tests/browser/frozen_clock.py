"""daphne whose clock starts at a chosen instant: ``python -m tests.browser.frozen_clock INSTANT DAPHNE-ARGS…``.

A browser test of the widget's hours must not depend on the day the suite runs: the
desk's wall clock starts at INSTANT (ISO-8601) and runs on from there (time_machine
with tick=True), so a Saturday afternoon stays a Saturday afternoon for the whole test.
Monotonic clocks (asyncio's timers) are left alone, so sockets and timeouts behave.
"""

import sys

import time_machine


def main() -> None:
    instant, args = sys.argv[1], sys.argv[2:]
    with time_machine.travel(instant, tick=True):
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(args)


if __name__ == "__main__":
    main()

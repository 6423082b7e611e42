"""daphne on uvloop, for the chat benchmark: ``python bench/daphne_uvloop.py <daphne arguments>``.

daphne runs Twisted on an asyncio loop it creates when ``daphne.server`` is imported;
choosing uvloop's policy first makes that loop uvloop's. Measured beside plain daphne in
bench/RESULTS.md (no reliable gain for the chat workload), so the desk does not use it.
"""

import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # noqa: E402  (after the policy, by design)

if __name__ == "__main__":
    CommandLineInterface.entrypoint()

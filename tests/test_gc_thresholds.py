"""The servers' collector settings (supportdesk/asgi.py): full passes rare, young passes less often."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def thresholds_of_a_server(**env) -> tuple:
    """Load the ASGI application as daphne does, in a process of its own, and read the collector's settings."""
    base = {key: value for key, value in os.environ.items() if key != "GC_THRESHOLDS"}
    out = subprocess.run([sys.executable, "-c", "import gc, supportdesk.asgi; print(*gc.get_threshold())"],
                         cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120, check=True)
    return tuple(int(n) for n in out.stdout.split())


@pytest.mark.parametrize("env, expected", [({}, (7000, 10, 100)), ({"GC_THRESHOLDS": "700,10,10"}, (700, 10, 10))],
                         ids=["the desk's", "set by GC_THRESHOLDS"])
def test_the_server_process_collects_with_its_own_thresholds(env, expected):
    assert thresholds_of_a_server(**env) == expected

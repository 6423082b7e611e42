"""Every script in bench/ runs at its smallest size and prints its figure, so none rots unnoticed.

Each runs as a subprocess, as a person runs it, bounded in time. Scripts that make their own
PostgreSQL database name it after the test database (``<name>_smoke_<script>``) and drop it at
the end; scripts that queue work on Redis are given the test Redis, which they empty.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))
# The scripts reach the server the bench has always used; the test database's server is it.
SERVER = (urlunsplit(urlsplit(DATABASE_URL)._replace(path="")) if ON_POSTGRES
          else "postgres://postgres@127.0.0.1:5432")
PREFIX = (urlsplit(DATABASE_URL).path.lstrip("/") if ON_POSTGRES else "supportdesk") + "_smoke"

NOT_POSTGRES = "DATABASE_URL is not PostgreSQL: the script makes its own PostgreSQL database"
NOT_POSTGRES_AND_REDIS = "needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): the script queues its jobs on Redis"
SHARED = next((Path(c) for c in (os.environ.get("SUPPORTDESK_SHARED", ""), ROOT / ".." / "shared", "/work/shared")
               if c and Path(c, "corpus").is_dir()), ROOT / ".." / "shared")     # as bench/mail_ingest.py finds it
CORPUS = SHARED / "corpus" / "email"
CHAT_SHARED = Path(os.environ.get("CHAT_BENCH_SHARED", "/work/shared/bench/chat"))


def run(script: str, *arguments: str, timeout: float = 90) -> str:
    """The script's output; fails with the last of its output unless it exits 0 within the time."""
    env = {**os.environ, "BENCH_POSTGRES": SERVER, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout[-3000:]}"
    return done.stdout


def figure(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    assert found, f"no line matching {pattern!r} in:\n{output[-3000:]}"
    return found.group(0)


def test_sla_bench_compares_both_engines_without_a_mismatch():       # no Django, no database: ~5 s
    output = run("sla_bench.py", "--n", "2000", "--peer-n", "3")
    figure(r"^\| \(a\) deadline: start \+ 12 business hours \| [\d,]+ \| 2,000 \|", output)
    figure(r"^cross-check: 0 mismatches", output)


def test_daphne_uvloop_serves_the_desk_on_uvloop():                   # ~5 s
    figure(r"^daphne on uvloop\.Loop: listening after .* GET / answered \d+ .* OK$",
           run("daphne_uvloop.py", "--smoke", timeout=60))


def test_outbox_retry_on_sqlite_accepts_each_mail_once():             # ~10 s
    figure(r"^outbox: 40 mails, \d+ deferred \(451\), 40 accepted exactly once, 0 duplicates, \d+ rounds, .* OK$",
           run("outbox_retry.py", "--smoke", "--db", "sqlite"))


@pytest.mark.postgresql
@pytest.mark.skipif(not ON_POSTGRES, reason=NOT_POSTGRES)
def test_outbox_retry_on_postgresql_accepts_each_mail_once():         # ~10 s
    figure(r"^outbox: 40 mails, \d+ deferred \(451\), 40 accepted exactly once, 0 duplicates, \d+ rounds, .* OK$",
           run("outbox_retry.py", "--smoke", "--database-url", f"{SERVER}/{PREFIX}_outbox"))


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL), reason=NOT_POSTGRES_AND_REDIS)
def test_sla_sweep_bench_breaches_what_fell_due():                    # ~10 s
    figure(r"^SLA sweep: median [\d.]+ ms .* 2,000 open tickets, 50 due$",
           run("sla_sweep_bench.py", "--smoke", "--database", f"{PREFIX}_sweep", "--redis", REDIS_URL))


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL), reason=NOT_POSTGRES_AND_REDIS)
def test_console_fanout_reaches_every_console():                      # ~25 s
    output = run("console_fanout.py", "--smoke", "--database", f"{PREFIX}_fanout", "--redis", REDIS_URL)
    figure(r"^\| deliveries expected / missing \| \d+ / 0 \|$", output)
    figure(r"^\| commit → last console, p99 \| \*\*[\d.]+ ms\*\*", output)


@pytest.mark.postgresql
@pytest.mark.skipif(not ON_POSTGRES, reason=NOT_POSTGRES)
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus is not at {CORPUS}")
def test_mail_ingest_files_a_few_corpus_messages():                   # ~30 s
    output = run("mail_ingest.py", "--smoke", "--database", f"{PREFIX}_mail", timeout=120)
    figure(r"^ours bulk: [\d.]+ msg/s wall, exceptions \{\}", output)
    figure(r"^- same outcomes all three ways: yes", output)


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not ON_POSTGRES, reason=NOT_POSTGRES)
@pytest.mark.skipif(not (shutil.which("redis-server") and shutil.which("psql")),
                    reason="the script starts its own redis-server and makes its database with psql")
@pytest.mark.skipif(not (CHAT_SHARED / "loadgen.py").is_file(),
                    reason=f"the relay and its load client are not in {CHAT_SHARED}")
def test_chat_latency_carries_every_line_both_ways():                 # ~25 s
    output = run("chat_latency.py", "--smoke", "--database", f"{PREFIX}_chat")
    figure(r"^\| relay \| - \| 2 \| 6/6 \| 0 \| 0 \|", output)
    figure(r"^\| daphne1 \| pubsub \| 2 \| 6/6 \| 0 \| 0 \| .* \| 18/18 \|", output)


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL), reason=NOT_POSTGRES_AND_REDIS)
def test_jira_forward_makes_one_issue_per_ticket_through_failures():  # ~30 s
    output = run("jira_forward.py", "--smoke", "--database-url", f"{SERVER}/{PREFIX}_jira", "--redis", REDIS_URL,
                 timeout=180)
    figure(r"^jira forward: 40 forwards, 2 worker\(s\), fail ratio 30%: 40 issues, 0 duplicates, 0 lost; .* OK$",
           output)


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL), reason=NOT_POSTGRES_AND_REDIS)
def test_voice_webhooks_answer_every_signed_call_step():             # ~30 s
    output = run("voice_webhooks.py", "--smoke", "--database-url", f"{SERVER}/{PREFIX}_voice", "--redis", REDIS_URL,
                 timeout=150)     # ~30 s on a quiet machine; 50-90 s beside a browser-test run
    figure(r"^voice webhooks, run 1: desk p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms, 0 errors of 60, .*; "
           r"bare p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms, 0 errors of 60, ", output)
    # The measured slots of the seed's plan: 10 calls ring, 9 choose a language (the lanes start out of step).
    figure(r"^  desk answers: \{'incoming→menu': 10, 'language→queue': 9\}", output)
    figure(r"^voice webhooks smoke: 60 desk and 60 bare requests, 0 errors — OK$", output)


@pytest.mark.postgresql
@pytest.mark.skipif(not ON_POSTGRES, reason=NOT_POSTGRES)
def test_search_bench_finds_every_rare_word_and_cjk_word():                # ~60 s
    output = run("search_bench.py", "--smoke", "--database-url", f"{SERVER}/{PREFIX}_search", timeout=240)
    figure(r"^3,000 messages: search .* OK$", output)


@pytest.mark.postgresql
@pytest.mark.redis
@pytest.mark.skipif(not (ON_POSTGRES and REDIS_URL), reason=NOT_POSTGRES_AND_REDIS)
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus is not at {CORPUS}")
def test_mail_live_files_every_message_sent_over_smtp():               # ~40 s
    output = run("mail_live.py", "--smoke", "--database", f"{PREFIX}_mail_live", "--redis", REDIS_URL,
                 timeout=240)
    figure(r"^mail live: 80/80 filed \(0 refused\) at [\d.]+ msg/s, bulk [\d.]+ msg/s, ratio [\d.]+×; 250→filed "
           r"p50 [\d.]+ s, p95 [\d.]+ s, p99 [\d.]+ s", output)
    figure(r"a job on another queue waited p50 [\d.]+ s, max [\d.]+ s \([1-9]\d* probes\)$", output)

#!/usr/bin/env python
"""Email ingest benchmark: the public corpus into PostgreSQL, beside django-helpdesk 2.6.1 in the same run.

    .venv/bin/python bench/mail_ingest.py [--write-results bench/RESULTS.md] [--no-peer] [--jobs N]
                                          [--database NAME] [--smoke]

``--smoke`` is the test suite's run: the first 20 files of the corpus, 3 generated
threads, ``--jobs 1``, no peer, and the database dropped at the end.

Ours, two ways, each on an emptied PostgreSQL database ``sd_mail_bench``:

- bulk (what a user importing a mailbox gets, the headline figure): the whole of
  ../shared/corpus/email through the production command, ``manage.py ingest_email
  CORPUS --jobs N`` (``call_command`` in this process; default N = CPU count, the
  command's default), timed on the wall clock from start to end;
- per message (what the SMTP listener, IMAP poller and webhook do, one message at a
  time, one transaction each): every .eml through ``apps.mail.filing.ingest_email``;
  summed time of the calls and wall time.

Both store the raw bytes, parse, thread, open the ticket with SLA clocks and routing,
write the event log and render and send the receipt; jobs (receipt delivery) run in
process inside the measured time, mail goes to Django's in-memory backend. One
warm-up message is ingested first and the database emptied again, so neither run
pays the one-off loading of the language models and of the first region's holiday
calendar. A third run is the bulk command as a user starts it, ``manage.py
ingest_email`` in a fresh process, timed from start to exit: start-up and every
one-off load included. Then a generated threading set (new
messages plus replies threaded by In-Reply-To, by References only with an unknown
In-Reply-To as Outlook sends them, and with no threading header at all), in bulk.

Peer: the harness in ../shared/bench/helpdesk_peer on the same files, in its own
virtual environment (``--peer-venv``, default /tmp/peer-venv, created with
``pip install django-helpdesk==2.6.1 psycopg2-binary`` when missing). It reports
messages/s over the summed time of its ingest calls and over its loop's wall time;
both are compared.
"""

import argparse
import collections
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The team's shared folder: $SUPPORTDESK_SHARED, beside the checkout, or /work/shared.
SHARED = next((Path(c) for c in (os.environ.get("SUPPORTDESK_SHARED", ""), ROOT / ".." / "shared", "/work/shared")
               if c and Path(c, "corpus").is_dir()), ROOT / ".." / "shared")
CORPUS = SHARED / "corpus" / "email"
PEER = SHARED / "bench" / "helpdesk_peer" / "bench_ingest.py"
DATABASE = "sd_mail_bench"
PG = "postgres://postgres@127.0.0.1:5432"

VARIANTS = ["in-reply-to", "outlook", "references-only", "no-headers"]
THREAD_TEXTS = [  # (language, charset, subject, body)
    ("en", "utf-8", "Export crashes", "The app crashes when I export the drawing to PDF."),
    ("sv", "iso-8859-1", "Kraschar vid export", "Appen kraschar när jag exporterar ritningen till PDF."),
    ("de", "iso-8859-15", "Absturz beim Export", "Die Anwendung stürzt beim Export der Zeichnung ab."),
    ("es", "windows-1252", "Fallo al exportar", "La aplicación se bloquea al exportar el diseño a PDF."),
    ("zh-hans", "gb2312", "导出时崩溃", "将图纸导出为PDF时应用程序崩溃。"),
    ("ja", "iso-2022-jp", "エクスポート時に落ちます", "図面をPDFにエクスポートするとアプリが落ちます。"),
]


def corpus_files(folder: Path) -> list[Path]:
    return sorted(Path(root) / name for root, _dirs, names in os.walk(folder) for name in names
                  if name.endswith(".eml"))


def generate_threads(folder: Path, threads: int, seed: int = 7) -> int:
    """New messages and their replies, labelled with the peer harness's X-Bench-* headers."""
    rng = random.Random(seed)
    count = 0
    for number in range(threads):
        language, charset, subject, body = THREAD_TEXTS[number % len(THREAD_TEXTS)]
        sender = f"user{number}@customer{number % 17}.example.org"
        subject = f"{subject} #{number}"
        original = f"<bench-{number}-0@customer.example.org>"
        messages = [("new", original, None, None, subject)]
        for index, variant in enumerate(VARIANTS, start=1):
            own = f"<bench-{number}-{index}@customer.example.org>"
            if variant == "in-reply-to":
                messages.append((variant, own, original, original, f"Re: {subject}"))
            elif variant == "outlook":  # answers a staff mail sent from Outlook: unknown In-Reply-To
                unknown = f"<AM{rng.randrange(10**9)}@outlook.example>"
                messages.append((variant, own, unknown, f"{original} {unknown}", f"RE: {subject}"))
            elif variant == "references-only":
                messages.append((variant, own, None, original, f"Re: {subject}"))
            else:
                messages.append((variant, own, None, None, f"Re: {subject}"))
        for index, (kind, message_id, in_reply_to, references, title) in enumerate(messages):
            message = EmailMessage()
            message["From"] = sender
            message["To"] = "support-eu@example.com"
            message["Subject"] = title
            message["Date"] = format_datetime(datetime.now(UTC))
            message["Message-ID"] = message_id
            if in_reply_to:
                message["In-Reply-To"] = in_reply_to
            if references:
                message["References"] = references
            text = body if kind == "new" else f"{body}\n\n(follow-up {index})"
            message.set_content(text, charset=charset if charset != "iso-2022-jp" else "utf-8")
            message["X-Bench-Kind"] = "new" if kind == "new" else f"reply {kind}"
            message["X-Bench-Thread"] = f"t{number}"
            (folder / f"t{number:04d}-{index}-{kind}.eml").write_bytes(bytes(message))
            count += 1
    return count


# --- ours -------------------------------------------------------------------------

def setup_django(media: Path, database: str = DATABASE) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    # DEBUG off: with it on, Django keeps every query in memory, which is not how the desk runs.
    os.environ.update({"DATABASE_URL": f"{PG}/{database}", "DEBUG": "0", "SECRET_KEY": "bench-only",
                       "LOG_LEVEL": "CRITICAL",
                       "MEDIA_ROOT": str(media), "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
                       "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})
    os.environ.pop("REDIS_URL", None)  # jobs (receipt delivery) run in process, inside the measured time
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    install_policy()


class Stopwatch:
    """Time spent inside a few functions during the run (measurement only; behaviour unchanged)."""

    TARGETS = [  # (module, attribute, label)
        ("apps.mail.filing", "open_tickets", "tickets.open_tickets (tickets, first messages, SLA clocks, routing)"),
        ("apps.console.events", "publish_events", "console event push (on commit)"),
        ("apps.mail.outbound", "send_receipts", "receipts queued"),
        ("apps.mail.outbound", "deliver_outbound_items", "receipts delivered from the outbox (in process)"),
        ("apps.mail.filing", "parse_email", "parse"),
        ("apps.mail.filing", "receive_email", "store raw"),
    ]

    def __init__(self):
        import importlib

        self.seconds = collections.Counter()
        self.active = False
        for module_name, attribute, label in self.TARGETS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            if hasattr(module, attribute):
                setattr(module, attribute, self._wrap(getattr(module, attribute), label))

    def _wrap(self, function, label):
        def timed(*args, **kwargs):
            if not self.active:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
        return timed


def reset_database() -> None:
    """Empty every table and install the policy again (between our runs)."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    install_policy()


def install_policy() -> None:
    from apps.policy.defaults import install_default_policy
    from apps.policy.languages import Language
    from apps.routing.models import Queue

    install_default_policy()
    for language in Language.values:
        for kind in Queue.Kind.values:
            Queue.objects.get_or_create(language=language, kind=kind, defaults={"name": f"{language} {kind}"})


def warm_up(raw: bytes) -> None:
    """One message through the whole path: language models, holiday calendars and templates load once."""
    from apps.mail import filing, language
    from apps.mail.models import InboundEmail

    language.detect("warm the language models up before timing")  # a one-off ~1 s load
    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend

    EmailBackend()  # creates mail.outbox
    filing.ingest_email(raw=raw, source=InboundEmail.Source.FILE)
    del mail.outbox[:]
    reset_database()


def bench_labels(raw: bytes) -> tuple[str, str]:
    from apps.mail.parsing import parse_email

    try:
        headers = parse_email(raw).headers
    except Exception:
        headers = {}
    return (headers.get("x-bench-kind") or [""])[0], (headers.get("x-bench-thread") or [""])[0]


def run_bulk(folder: Path, files: list[Path], *, jobs: int, batch_size: int,
             stopwatch: "Stopwatch | None" = None) -> dict:
    """The folder through ``manage.py ingest_email FOLDER --jobs N``; results read back in input order."""
    import io

    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend
    from django.core.management import call_command

    from apps.mail.models import InboundEmail

    EmailBackend()  # creates mail.outbox
    exceptions = collections.Counter()
    if stopwatch:
        stopwatch.active = True
    wall = time.perf_counter()
    try:
        call_command("ingest_email", str(folder), "--no-progress", "--jobs", str(jobs),
                     "--batch-size", str(batch_size), stdout=io.StringIO())
    except Exception as error:  # counted; the whole run is then not comparable
        exceptions[type(error).__name__] += 1
    wall = time.perf_counter() - wall
    if stopwatch:
        stopwatch.active = False
    rows = list(InboundEmail.objects.order_by("pk").values_list("outcome", "ticket_id"))
    # The command reads a folder in sorted path order, as corpus_files lists it: one row per file.
    if len(rows) != len(files):
        exceptions["missing rows"] += abs(len(files) - len(rows))
    results = []
    for path, (outcome, ticket) in zip(files, rows):
        kind, thread = bench_labels(path.read_bytes())
        results.append({"outcome": str(outcome), "ticket": ticket, "path": path, "kind": kind, "thread": thread})
    outbox = len(mail.outbox)
    del mail.outbox[:]
    return {"results": results, "exceptions": dict(exceptions), "wall_seconds": wall, "messages": len(files),
            "outgoing": outbox, "outcomes": dict(collections.Counter(r["outcome"] for r in results)),
            "jobs": jobs, "batch_size": batch_size,
            "inside": {label: round(value, 2) for label, value in (stopwatch.seconds if stopwatch else {}).items()}}


def run_fresh_process(folder: Path, files: list[Path], *, jobs: int, batch_size: int) -> dict:
    """``manage.py ingest_email FOLDER`` in a new process, as a user runs it; wall clock to its exit."""
    from apps.mail.models import InboundEmail

    command = [sys.executable, str(ROOT / "manage.py"), "ingest_email", str(folder), "--no-progress",
               "--jobs", str(jobs), "--batch-size", str(batch_size)]
    wall = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=os.environ.copy(), capture_output=True)
    wall = time.perf_counter() - wall
    outcomes = collections.Counter(InboundEmail.objects.values_list("outcome", flat=True))
    exceptions = {"exit status": done.returncode} if done.returncode else {}
    if sum(outcomes.values()) != len(files):
        exceptions["missing rows"] = abs(len(files) - sum(outcomes.values()))
    return {"wall_seconds": wall, "messages": len(files), "outcomes": dict(outcomes), "exceptions": exceptions}


def run_ours(files: list[Path], stopwatch: "Stopwatch | None" = None) -> dict:
    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend

    from apps.mail import filing
    from apps.mail.models import InboundEmail

    EmailBackend()  # creates mail.outbox
    results, exceptions, seconds = [], collections.Counter(), 0.0
    per_outcome = collections.defaultdict(float)
    if stopwatch:
        stopwatch.active = True
    wall = time.perf_counter()
    for path in files:
        raw = path.read_bytes()
        started = time.perf_counter()
        try:
            inbound = filing.ingest_email(raw=raw, source=InboundEmail.Source.FILE)
            result = {"outcome": str(inbound.outcome), "ticket": inbound.ticket_id}
        except Exception as error:  # counted, as the peer's harness counts its exceptions
            exceptions[type(error).__name__] += 1
            result = {"outcome": "exception", "ticket": None}
        elapsed = time.perf_counter() - started
        seconds += elapsed
        per_outcome[result["outcome"]] += elapsed
        result["path"] = path
        result["kind"], result["thread"] = bench_labels(raw)
        results.append(result)
    wall = time.perf_counter() - wall
    if stopwatch:
        stopwatch.active = False
    outbox = len(mail.outbox)
    del mail.outbox[:]
    counts = collections.Counter(r["outcome"] for r in results)
    return {"results": results, "exceptions": dict(exceptions), "ingest_seconds": seconds,
            "ms_per_outcome": {k: round(1000 * v / counts[k], 1) for k, v in per_outcome.items()},
            "wall_seconds": wall, "messages": len(files), "outgoing": outbox,
            "outcomes": dict(counts),
            "inside": {label: round(value, 2) for label, value in (stopwatch.seconds if stopwatch else {}).items()}}


def corpus_replies(files: list[Path], ours: dict) -> tuple[int, int]:
    """Corpus messages that answer an earlier corpus message (by Message-ID), and how many we threaded."""
    from apps.mail.parsing import parse_email

    first_ticket, replies, threaded = {}, 0, 0
    for path, result in zip(files, ours["results"], strict=True):
        try:
            parsed = parse_email(path.read_bytes())
        except Exception:
            continue
        earlier = [mid for mid in parsed.thread_ids if mid in first_ticket and mid != parsed.message_id]
        if earlier:
            replies += 1
            threaded += result["outcome"] in ("reply", "automatic") and result["ticket"] == first_ticket[earlier[0]]
        if parsed.message_id and parsed.message_id not in first_ticket and result["ticket"]:
            first_ticket[parsed.message_id] = result["ticket"]
    return replies, threaded


def threading_accuracy(ours: dict) -> dict:
    tickets, by_variant = {}, collections.defaultdict(collections.Counter)
    for result in ours["results"]:
        if result["kind"] == "new":
            tickets[result["thread"]] = result["ticket"]
        elif result["kind"].startswith("reply"):
            ok = result["outcome"] == "reply" and result["ticket"] == tickets.get(result["thread"])
            by_variant[result["kind"].split()[1]]["correct" if ok else "missed"] += 1
    total = sum(sum(v.values()) for v in by_variant.values())
    correct = sum(v["correct"] for v in by_variant.values())
    return {"replies": total, "correct": correct, "by_variant": {k: dict(v) for k, v in by_variant.items()}}


# --- the peer ---------------------------------------------------------------------

def ensure_peer(venv: Path) -> Path:
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import helpdesk, psycopg2"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "django-helpdesk==2.6.1", "psycopg2-binary"],
                   check=True)
    return python


def run_peer(python: Path, folder: Path, work: Path, label: str) -> dict:
    out = work / f"{label}.json"
    env = {**os.environ, "PEER_WORKDIR": str(work)}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "MEDIA_ROOT", "EMAIL_BACKEND"):
        env.pop(name, None)
    subprocess.run([str(python), str(PEER), str(folder), "--db", "postgres", "--json", str(out), "--label", label],
                   check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())["summary"]


# --- report -------------------------------------------------------------------------

def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def versions() -> str:
    from importlib.metadata import version

    names = ["Django", "aiosmtpd", "imapclient", "mail-parser-reply", "lingua-language-detector",
             "charset-normalizer", "nh3", "psycopg"]
    return ", ".join(f"{name} {version(name)}" for name in names)


def report(args, corpus, bulk, fresh, single, replies, synthetic, threading, peer, peer_threads) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tail = "".join(f" {flag}" for flag in args.flags)
    bulk_rate = rate(bulk["messages"], bulk["wall_seconds"])
    single_rate = rate(single["messages"], single["ingest_seconds"])
    single_wall = rate(single["messages"], single["wall_seconds"])
    fresh_rate = rate(fresh["messages"], fresh["wall_seconds"])
    exceptions = sum(sum(run["exceptions"].values()) for run in (bulk, fresh, single))
    all_threaded = (replies["bulk"][0] == replies["bulk"][1] and replies["single"][0] == replies["single"][1]
                    and threading["correct"] == threading["replies"])
    lines = [
        f"## Email ingest benchmark — {now}",
        "",
        f"- command: `.venv/bin/python bench/mail_ingest.py{tail}`",
        f"- machine: {platform.platform()}, {platform.machine()}, nproc={os.cpu_count()} (shared, noisy), "
        f"Python {platform.python_version()}, PostgreSQL on 127.0.0.1 (same 2 cores)",
        f"- versions: {versions()}; peer: django-helpdesk 2.6.1 (its own venv, harness "
        "`../shared/bench/helpdesk_peer/bench_ingest.py --db postgres`)",
        f"- ours, bulk: `manage.py ingest_email CORPUS --jobs {bulk['jobs']} --batch-size {bulk['batch_size']}` "
        "(parse in worker processes, file in order, one transaction per batch), wall clock of the whole command",
        "- ours, per message: `apps.mail.filing.ingest_email` once per message, one transaction each (the "
        "SMTP/IMAP/webhook path)",
        "- both: store raw, parse, thread, open ticket with SLA clocks and routing, event log, receipt rendered "
        "and delivered in process to the in-memory mail backend; no Redis; after a one-message warm-up",
        "",
        f"Corpus: {len(corpus)} files of `../shared/corpus/email`.",
        "",
        "| figure | ours | django-helpdesk 2.6.1 | ours/peer |",
        "|---|---:|---:|---:|",
    ]
    if peer:
        peer_wall, peer_sum = peer["msgs_per_sec_wall"], peer["msgs_per_sec_ingest"]
        lines += [
            f"| **bulk import, messages/s (wall, whole corpus) vs peer wall** | **{bulk_rate:,.1f}** | "
            f"{peer_wall:,.1f} | **{bulk_rate / peer_wall:.2f}×** |",
            f"| bulk import, messages/s (wall) vs peer summed ingest time | {bulk_rate:,.1f} | {peer_sum:,.1f} | "
            f"{bulk_rate / peer_sum:.2f}× |",
            f"| bulk import in a fresh process (start-up and one-off loads included), messages/s (wall) | "
            f"{fresh_rate:,.1f} | {peer_wall:,.1f} | {fresh_rate / peer_wall:.2f}× |",
            f"| per message, messages/s (summed ingest time) | {single_rate:,.1f} | {peer_sum:,.1f} | "
            f"{single_rate / peer_sum:.2f}× |",
            f"| per message, messages/s (wall) | {single_wall:,.1f} | {peer_wall:,.1f} | "
            f"{single_wall / peer_wall:.2f}× |",
            f"| exceptions | {exceptions} | {peer['raised']} "
            f"({peer['failure_rate_pct']} %: {peer['exception_types']}) | |",
            f"| tickets opened / follow-ups (bulk) | {bulk['outcomes'].get('new_ticket', 0)} + "
            f"{bulk['outcomes'].get('unparsed', 0)} flagged / {bulk['outcomes'].get('reply', 0)} | "
            f"{peer['tickets_created']} / {peer['followups_on_existing']} | |",
            f"| notifications sent (bulk) | {bulk['outgoing']} | {peer['outgoing_notifications']} "
            f"(of which {peer['bounces_answered_with_notification']} answered bounces) | |",
        ]
    else:
        lines += [f"| bulk import, messages/s (wall) | {bulk_rate:,.1f} | not run | |",
                  f"| bulk import in a fresh process, messages/s (wall) | {fresh_rate:,.1f} | not run | |",
                  f"| per message, messages/s (summed ingest time) | {single_rate:,.1f} | not run | |",
                  f"| exceptions | {exceptions} | not run | |"]
    lines += [
        "",
        f"- bulk: {bulk['wall_seconds']:.2f} s wall for {bulk['messages']} messages "
        f"({1000 * bulk['wall_seconds'] / bulk['messages']:.2f} ms each); outcomes {bulk['outcomes']}; "
        f"seconds inside (main process; parsing runs in the workers): {bulk['inside']}",
        f"- bulk in a fresh process: {fresh['wall_seconds']:.2f} s from start to exit; outcomes {fresh['outcomes']}",
        f"- per message: {single['ingest_seconds']:.1f} s summed, {single['wall_seconds']:.1f} s wall; outcomes "
        f"{single['outcomes']}; mean ms by outcome {single['ms_per_outcome']}; seconds inside: {single['inside']}",
        f"- same outcomes all three ways: "
        f"{'yes' if bulk['outcomes'] == single['outcomes'] == fresh['outcomes'] else 'NO'} "
        "(review = automatic mail matching no ticket; duplicate = a Message-ID already filed; both keep their raw "
        "bytes)",
        f"- corpus replies (answering an earlier corpus message by Message-ID): bulk {replies['bulk'][1]} of "
        f"{replies['bulk'][0]}, per message {replies['single'][1]} of {replies['single'][0]} threaded",
        f"- threading set ({synthetic} generated messages, bulk: new + replies by In-Reply-To, Outlook-style unknown "
        f"In-Reply-To with References, References only, no headers): ours "
        f"{threading['correct']}/{threading['replies']} {threading['by_variant']}",
    ]
    if peer_threads:
        lines.append(f"  peer {peer_threads.get('threading_correct')}/{peer_threads.get('threading_replies')} "
                     f"{peer_threads.get('threading_by_variant')}")
    if peer:
        ratio = bulk_rate / peer["msgs_per_sec_wall"]
        lines.append(f"- target ≥ 10× the peer's messages/s (bulk wall vs peer wall): "
                     f"{'met' if ratio >= 10 else 'NOT met'} ({ratio:.2f}×; vs the peer's summed figure "
                     f"{bulk_rate / peer['msgs_per_sec_ingest']:.2f}×); 0 exceptions: "
                     f"{'met' if not exceptions else 'NOT met'}; every reply threaded: "
                     f"{'met' if all_threaded else 'NOT met'}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write-results", metavar="FILE", help="append the section to this markdown file")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument("--peer-venv", default="/tmp/peer-venv")
    parser.add_argument("--threads", type=int, default=120, help="threads in the generated threading set")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="ingest_email --jobs (bulk run)")
    parser.add_argument("--batch-size", type=int, default=200, help="ingest_email --batch-size (bulk run)")
    parser.add_argument("--database", default=DATABASE, help="made afresh for the run")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run for the test suite: 20 corpus files, 3 threads, no peer, database dropped")
    args = parser.parse_args()
    args.flags = [f for f in sys.argv[1:]]
    if args.smoke:        # one process: worker start-up would be most of a tiny run
        args.threads, args.no_peer, args.jobs = 3, True, 1

    work = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    corpus_dir = CORPUS
    try:
        if args.smoke:        # the first files of the corpus, in the corpus's own order
            corpus_dir = work / "corpus"
            corpus_dir.mkdir()
            for number, path in enumerate(corpus_files(CORPUS)[:20]):
                shutil.copyfile(path, corpus_dir / f"{number:03d}-{path.name}")
        synthetic_dir = work / "threads"
        synthetic_dir.mkdir()
        synthetic = generate_threads(synthetic_dir, args.threads)
        corpus = corpus_files(corpus_dir)

        setup_django(work / "media", args.database)
        warm_up(sorted(synthetic_dir.iterdir())[0].read_bytes())

        stopwatch = Stopwatch()
        bulk = run_bulk(corpus_dir, corpus, jobs=args.jobs, batch_size=args.batch_size, stopwatch=stopwatch)
        replies = {"bulk": corpus_replies(corpus, bulk)}
        stopwatch.seconds.clear()
        reset_database()
        single = run_ours(corpus, stopwatch)
        replies["single"] = corpus_replies(corpus, single)
        reset_database()
        fresh = run_fresh_process(corpus_dir, corpus, jobs=args.jobs, batch_size=args.batch_size)
        reset_database()
        threads = run_bulk(synthetic_dir, corpus_files(synthetic_dir), jobs=args.jobs, batch_size=args.batch_size)
        threading = threading_accuracy(threads)
        print(f"ours bulk: {rate(bulk['messages'], bulk['wall_seconds']):.1f} msg/s wall, exceptions "
              f"{bulk['exceptions']}, outcomes {bulk['outcomes']}; per message: "
              f"{rate(single['messages'], single['ingest_seconds']):.1f} msg/s summed, exceptions "
              f"{single['exceptions']}; fresh process: {rate(fresh['messages'], fresh['wall_seconds']):.1f} msg/s "
              f"wall, {fresh['exceptions']}; corpus replies {replies}, threading {threading}", flush=True)

        peer = peer_threads = None
        if not args.no_peer:
            python = ensure_peer(Path(args.peer_venv))
            peer = run_peer(python, CORPUS, work, "corpus")
            peer_threads = run_peer(python, synthetic_dir, work, "threads")
            print(f"peer: {peer['msgs_per_sec_ingest']} msg/s summed, {peer['msgs_per_sec_wall']} msg/s wall, "
                  f"raised {peer['raised']}, threading "
                  f"{peer_threads.get('threading_correct')}/{peer_threads.get('threading_replies')}", flush=True)
        section = report(args, corpus, bulk, fresh, single, replies, synthetic, threading, peer, peer_threads)
        print(section)
        if args.write_results:
            with open(args.write_results, "a", encoding="utf-8") as handle:
                handle.write("\n" + section)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.smoke:
            drop_database(args.database)
    return 0


def drop_database(database: str) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Email ingest benchmark: the public corpus into PostgreSQL, beside django-helpdesk 2.6.1 in the same run.

    .venv/bin/python bench/mail_ingest.py [--write-results bench/RESULTS.md] [--no-peer]

Ours: every .eml of ../shared/corpus/email through ``apps.mail.services.ingest_email``
(store raw, parse, thread, open the ticket with SLA clocks and routing, queue and
send the receipt — jobs run in process, mail goes to Django's in-memory backend)
on a fresh PostgreSQL database ``sd_mail_bench``. Then a generated threading set
(new messages plus replies threaded by In-Reply-To, by References only with an
unknown In-Reply-To as Outlook sends them, and with no threading header at all).

Peer: the harness in ../shared/bench/helpdesk_peer on the same files, in its own
virtual environment (``--peer-venv``, default /tmp/peer-venv, created with
``pip install django-helpdesk==2.6.1 psycopg2-binary`` when missing).

Messages/s is the message count over the summed time of the ingest calls, the
figure the peer's harness reports (its ``msgs_per_sec_ingest``); wall figures too.
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

def setup_django(media: Path) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    # DEBUG off: with it on, Django keeps every query in memory, which is not how the desk runs.
    os.environ.update({"DATABASE_URL": f"{PG}/{DATABASE}", "DEBUG": "0", "SECRET_KEY": "bench-only",
                       "LOG_LEVEL": "CRITICAL",
                       "MEDIA_ROOT": str(media), "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
                       "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})
    os.environ.pop("REDIS_URL", None)  # jobs (receipt delivery) run in process, inside the measured time
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.policy.defaults import install_default_policy
    from apps.policy.languages import Language
    from apps.routing.models import Queue

    install_default_policy()
    for language in Language.values:
        for kind in Queue.Kind.values:
            Queue.objects.get_or_create(language=language, kind=kind, defaults={"name": f"{language} {kind}"})


class Stopwatch:
    """Time spent inside a few functions during the run (measurement only; behaviour unchanged)."""

    TARGETS = [  # (module, attribute, label)
        ("apps.mail.services", "open_ticket", "tickets.open_ticket (ticket, SLA clocks, routing)"),
        ("apps.console.events", "publish_events", "console event push (on commit)"),
        ("apps.mail.services", "send_receipt", "receipt queued"),
        ("apps.mail.services", "deliver_outbound", "receipt delivered (in process)"),
        ("apps.mail.services", "parse_email", "parse"),
        ("apps.mail.services", "receive_email", "store raw"),
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


def run_ours(files: list[Path], stopwatch: "Stopwatch | None" = None) -> dict:
    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend

    from apps.mail import services
    from apps.mail.models import InboundEmail
    from apps.mail.parsing import parse_email

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
            inbound = services.ingest_email(raw=raw, source=InboundEmail.Source.FILE)
            result = {"outcome": str(inbound.outcome), "ticket": inbound.ticket_id}
        except Exception as error:  # counted, as the peer's harness counts its exceptions
            exceptions[type(error).__name__] += 1
            result = {"outcome": "exception", "ticket": None}
        elapsed = time.perf_counter() - started
        seconds += elapsed
        per_outcome[result["outcome"]] += elapsed
        try:
            headers = parse_email(raw).headers
        except Exception:
            headers = {}
        result["path"] = path
        result["kind"] = (headers.get("x-bench-kind") or [""])[0]
        result["thread"] = (headers.get("x-bench-thread") or [""])[0]
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


def report(args, corpus, ours, replies, synthetic, synthetic_threading, peer, peer_threads) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command_tail = f" --write-results {args.write_results}" if args.write_results else ""
    all_threaded = replies[0] == replies[1] and synthetic_threading["correct"] == synthetic_threading["replies"]
    ours_rate = rate(ours["messages"], ours["ingest_seconds"])
    lines = [
        f"## Email ingest benchmark — {now}",
        "",
        f"- command: `.venv/bin/python bench/mail_ingest.py{command_tail}`",
        f"- machine: {platform.platform()}, {platform.machine()}, nproc={os.cpu_count()} (shared, noisy), "
        f"Python {platform.python_version()}, PostgreSQL on 127.0.0.1",
        f"- versions: {versions()}; peer: django-helpdesk 2.6.1 (its own venv, harness "
        "`../shared/bench/helpdesk_peer/bench_ingest.py --db postgres`)",
        "- ours: `apps.mail.services.ingest_email` per message (store raw, parse, thread, open ticket with SLA "
        "clocks and routing, console events, receipt rendered and sent to the in-memory mail backend); "
        "one process, no Redis (jobs in process)",
        "",
        f"Corpus: {len(corpus)} files of `../shared/corpus/email`.",
        "",
        "| figure | ours | django-helpdesk 2.6.1 | ours/peer |",
        "|---|---:|---:|---:|",
    ]
    if peer:
        lines.append(f"| messages/s (summed ingest time) | {ours_rate:,.1f} | {peer['msgs_per_sec_ingest']:,.1f} | "
                     f"{ours_rate / peer['msgs_per_sec_ingest']:.2f}× |")
        lines.append(f"| messages/s (wall) | {rate(ours['messages'], ours['wall_seconds']):,.1f} | "
                     f"{peer['msgs_per_sec_wall']:,.1f} | "
                     f"{rate(ours['messages'], ours['wall_seconds']) / peer['msgs_per_sec_wall']:.2f}× |")
        lines.append(f"| exceptions | {sum(ours['exceptions'].values())} | {peer['raised']} "
                     f"({peer['failure_rate_pct']} %: {peer['exception_types']}) | |")
        lines.append(f"| tickets opened / follow-ups | {ours['outcomes'].get('new_ticket', 0)} + "
                     f"{ours['outcomes'].get('unparsed', 0)} flagged / {ours['outcomes'].get('reply', 0)} | "
                     f"{peer['tickets_created']} / {peer['followups_on_existing']} | |")
        lines.append(f"| notifications sent | {ours['outgoing']} | {peer['outgoing_notifications']} "
                     f"(of which {peer['bounces_answered_with_notification']} answered bounces) | |")
    else:
        lines.append(f"| messages/s (summed ingest time) | {ours_rate:,.1f} | not run | |")
    lines += [
        "",
        f"- our outcomes: {ours['outcomes']} (review = automatic mail matching no ticket; duplicate = a "
        "Message-ID already filed; both keep their raw bytes)",
        f"- our mean ms per message by outcome: {ours['ms_per_outcome']}",
        f"- where our {ours['ingest_seconds']:.1f} s went (seconds inside, nested calls overlap): {ours['inside']}",
        f"- corpus replies (answering an earlier corpus message by Message-ID): {replies[1]} of {replies[0]} threaded",
        f"- threading set ({synthetic} generated messages: new + replies by In-Reply-To, Outlook-style unknown "
        f"In-Reply-To with References, References only, no headers): ours "
        f"{synthetic_threading['correct']}/{synthetic_threading['replies']} {synthetic_threading['by_variant']}",
    ]
    if peer_threads:
        lines.append(f"  peer {peer_threads.get('threading_correct')}/{peer_threads.get('threading_replies')} "
                     f"{peer_threads.get('threading_by_variant')}")
    if peer:
        ratio = ours_rate / peer["msgs_per_sec_ingest"]
        lines.append(f"- target ≥ 10× the peer's messages/s: {'met' if ratio >= 10 else 'NOT met'} ({ratio:.2f}×); "
                     f"0 exceptions: {'met' if not ours['exceptions'] else 'NOT met'}; every reply threaded: "
                     f"{'met' if all_threaded else 'NOT met'}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write-results", metavar="FILE", help="append the section to this markdown file")
    parser.add_argument("--no-peer", action="store_true", help="skip django-helpdesk")
    parser.add_argument("--peer-venv", default="/tmp/peer-venv")
    parser.add_argument("--threads", type=int, default=120, help="threads in the generated threading set")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    try:
        synthetic_dir = work / "threads"
        synthetic_dir.mkdir()
        synthetic = generate_threads(synthetic_dir, args.threads)
        corpus = corpus_files(CORPUS)

        setup_django(work / "media")
        from apps.mail import language
        from apps.mail.parsing import parse_email

        language.detect("warm the language models up before timing")  # a one-off ~1 s load
        parse_email(corpus[0].read_bytes())

        stopwatch = Stopwatch()
        ours = run_ours(corpus, stopwatch)
        replies = corpus_replies(corpus, ours)
        ours_threads = run_ours(corpus_files(synthetic_dir))
        threading = threading_accuracy(ours_threads)
        print(f"ours: {ours['messages']} msgs, {rate(ours['messages'], ours['ingest_seconds']):.1f} msg/s, "
              f"exceptions {ours['exceptions']}, outcomes {ours['outcomes']}, ms {ours['ms_per_outcome']}, "
              f"corpus replies {replies}, "
              f"threading {threading}", flush=True)

        peer = peer_threads = None
        if not args.no_peer:
            python = ensure_peer(Path(args.peer_venv))
            peer = run_peer(python, CORPUS, work, "corpus")
            peer_threads = run_peer(python, synthetic_dir, work, "threads")
            print(f"peer: {peer['msgs_per_sec_ingest']} msg/s, raised {peer['raised']}, threading "
                  f"{peer_threads.get('threading_correct')}/{peer_threads.get('threading_replies')}", flush=True)
        section = report(args, corpus, ours, replies, synthetic, threading, peer, peer_threads)
        print(section)
        if args.write_results:
            with open(args.write_results, "a", encoding="utf-8") as handle:
                handle.write("\n" + section)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

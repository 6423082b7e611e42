"""Search proof: the first page of ``GET /api/tickets?q=`` over 1,000,000 messages in six languages.

What it does:

1. Makes its own PostgreSQL database (``sd_bench_search``), migrates it, and loads N messages
   (and their tickets, five messages each) with ``COPY``: sv, en, es, de, zh-hans and ja in
   equal shares, written from a per-language vocabulary of common words, with a few rare
   words sprinkled in (1 message in 2,000) and CJK text without spaces. The search documents
   are written as the desk writes them (``apps.tickets.search.tokens_of``); PostgreSQL makes
   their tsvectors (a generated column) and the GIN index is built after the load.
2. Runs a fixed query set, as the API does for the manager (who sees every ticket): the
   selector ``ticket_list(q=…)``, its count and its first page of 25. Per language a common
   and a rare word, and 2-, 3- and 4-character CJK words. Each query runs ``--repeats``
   times after one warm-up; p50/p95/max over all timings.
3. The baseline, in the same run and database: a plain ``ILIKE '%word%'`` over subjects and
   messages, newest first, first 25 (each query once: it scans).

    .venv/bin/python bench/search_bench.py [--messages 1000000] [--repeats 5]
        [--database-url postgres://…/sd_bench_search] [--keep] [--write-results bench/RESULTS.md] [--smoke]

``--smoke``: the suite's run, 3,000 messages. Exit status 0 when every query finds what the
data holds (rare words: exactly their tickets; CJK words: at least one ticket) and p95 is
under the target (300 ms; not checked in the smoke run), 1 otherwise.
"""

import argparse
import os
import platform
import random
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_bench_search")
TARGET_MS = 300
PAGE = 25
PER_TICKET = 5
RARE_EVERY = 2000
CHUNK = 50_000


def words(text: str) -> list[str]:
    return text.split()


COMMON = {
    "en": words("invoice printer login password account error update license crash screen report "
            "export file window drawing catalogue price order delivery slow install version "
            "help please thanks problem"),
    "sv": words("faktura skrivare inloggning lösenord konto fel uppdatering licens krasch skärm "
            "rapport export fil fönster ritning katalog pris beställning leverans långsam "
            "installation version hjälp tack problem"),
    "es": words("factura impresora contraseña cuenta error actualización licencia fallo pantalla "
            "informe archivo ventana dibujo catálogo precio pedido entrega lento instalación "
            "versión ayuda gracias problema"),
    "de": words("Rechnung Drucker Anmeldung Passwort Konto Fehler Aktualisierung Lizenz Absturz "
            "Bildschirm Bericht Datei Fenster Zeichnung Katalog Preis Bestellung Lieferung "
            "langsam Installation Version Hilfe"),
    "zh-hans": words("发票 打印机 登录 密码 账户 错误 更新 许可证 崩溃 屏幕 报告 导出 文件 "
                     "窗口 图纸 目录 价格 订单 交货 安装 版本 帮助 谢谢 问题 客户 软件"),
    "ja": words("請求書 プリンター ログイン パスワード アカウント エラー 更新 ライセンス 画面 報告 ファイル "
                "図面 カタログ 価格 注文 配送 インストール バージョン 助け 問題 東京都 ソフト"),
}
FILLER = {
    "en": words("the a is my it not with and"),
    "sv": words("och jag det är inte med min en"),
    "es": words("el la es mi no con y un"),
    "de": words("der die ist mein nicht mit und ein"),
    "zh-hans": words("的 我 是 不 了 在 有"),
    "ja": words("の が は を に で ません"),
}
RARE = {"en": "zeppelin", "sv": "kantarell", "es": "murciélago", "de": "Quittung", "zh-hans": "熊猫",
        "ja": "富士山"}
QUERIES = [(language, COMMON[language][0], "common") for language in COMMON] + [
    (language, word, "rare") for language, word in RARE.items()] + [
    ("zh-hans", "发票", "cjk2"), ("zh-hans", "许可证", "cjk3"), ("ja", "東京都", "cjk3"), ("ja", "パスワード", "cjk4+"),
    ("ja", "図面", "cjk2")]
LANGUAGES = list(COMMON)


def server_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    maintenance, name = server_url(url)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str) -> None:
    os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": "", "DEBUG": "0", "SECRET_KEY": "bench-only",
                       "FIELD_ENCRYPTION_KEY": "bench-only", "LOG_LEVEL": "CRITICAL",
                       "DJANGO_SETTINGS_MODULE": "supportdesk.settings"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def sentence(rng: random.Random, language: str, rare: bool) -> str:
    words = rng.choices(COMMON[language], k=rng.randint(4, 12)) + rng.choices(FILLER[language], k=rng.randint(2, 6))
    rng.shuffle(words)
    if rare:
        words.insert(rng.randrange(len(words) + 1), RARE[language])
    joiner = "" if language in ("zh-hans", "ja") else " "
    return joiner.join(words) + ("。" if not joiner else ".")


def load(messages: int, seed: int, chunk: int = CHUNK) -> dict[str, set[int]]:
    """COPY the tickets, messages and search documents; returns the tickets of each rare word."""
    from django.db import connection

    from apps.tickets.models import Contact, Message, SearchDocument, Ticket
    from apps.tickets.search import tokens_of

    rng = random.Random(seed)
    contacts = {language: Contact.objects.create(name=f"Bench {language}", email=f"{language}@example.com",
                                                 language=language).pk for language in LANGUAGES}
    tickets = max(1, messages // PER_TICKET)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    rare_tickets: dict[str, set[int]] = {language: set() for language in LANGUAGES}
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX tickets_search_document_gin")
        raw = cursor.connection
        with raw.cursor() as pg:
            with pg.copy(f"COPY {Ticket._meta.db_table} (id, reference, channel, external_ref, contact_id, language, "
                         "subject, status, scope, category, unparsed, received_at, created_at, updated_at) "
                         "FROM STDIN") as copy:
                for pk in range(1, tickets + 1):
                    language = LANGUAGES[pk % len(LANGUAGES)]
                    at = start + timedelta(seconds=pk * 30)
                    copy.write_row((pk, f"SD-{pk:06d}", "email", "", contacts[language], language,
                                    sentence(rng, language, False)[:300], "open", "untriaged", "", False, at, at, at))
            # Messages and their search documents in chunks, one COPY at a time: a connection carries
            # one COPY, so the documents of a chunk follow its messages.
            for first in range(1, messages + 1, chunk):
                documents = []
                with pg.copy(f"COPY {Message._meta.db_table} (id, ticket_id, direction, automatic, channel, "
                             "body_text, body_html, external_id, shared_with_owner, created_at) FROM STDIN") as copy:
                    for pk in range(first, min(first + chunk, messages + 1)):
                        ticket = (pk - 1) // PER_TICKET + 1
                        language = LANGUAGES[ticket % len(LANGUAGES)]
                        rare = rng.randrange(RARE_EVERY) == 0
                        body = " ".join(sentence(rng, language, rare and n == 0) for n in range(rng.randint(1, 3)))
                        if rare:
                            rare_tickets[language].add(ticket)
                        at = start + timedelta(seconds=ticket * 30 + pk % PER_TICKET)
                        copy.write_row((pk, ticket, "inbound", False, "email", body, "", "", False, at))
                        documents.append((ticket, pk, language, tokens_of(body), at))
                _copy_documents(pg, SearchDocument, documents)
            pg.execute(f"INSERT INTO {SearchDocument._meta.db_table} (ticket_id, message_id, language, tokens, "
                       f"created_at) SELECT id, NULL, language, subject, received_at FROM {Ticket._meta.db_table}")
        for model in (Ticket, Message, SearchDocument):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
                           f"(SELECT max(id) FROM {model._meta.db_table}))")
        cursor.execute("CREATE INDEX tickets_search_document_gin ON tickets_searchdocument USING gin (document)")
        cursor.execute("ANALYZE")
    return rare_tickets


def _copy_documents(pg, model, documents) -> None:
    with pg.copy(f"COPY {model._meta.db_table} (ticket_id, message_id, language, tokens, created_at) "
                 "FROM STDIN") as copy:
        for row in documents:
            copy.write_row(row)


def manager():
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    user, created = get_user_model().objects.get_or_create(username="bench_manager")
    if created:
        make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    return user


def first_page(user, word: str) -> tuple[int, list[str]]:
    """What the API does for ``?q=word``: the count and the first page."""
    from apps.tickets import selectors

    tickets = selectors.ticket_list(user=user, q=word)
    return tickets.count(), [ticket.reference for ticket in tickets[:PAGE]]


def ilike_page(word: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT t.id FROM tickets_ticket t WHERE t.subject ILIKE %s OR EXISTS (SELECT 1 FROM "
                       "tickets_message m WHERE m.ticket_id = t.id AND m.body_text ILIKE %s) "
                       "ORDER BY t.received_at DESC, t.id DESC LIMIT %s", [f"%{word}%", f"%{word}%", PAGE])
        return [row[0] for row in cursor.fetchall()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(args) -> tuple[bool, str, list[str]]:
    started = time.perf_counter()
    recreate_postgres(args.database_url)
    setup_django(args.database_url)
    # The smoke run loads in several chunks too, so the chunking is what the suite proves.
    rare_tickets = load(args.messages, args.seed, chunk=1_000 if args.smoke else CHUNK)
    loaded = time.perf_counter() - started
    from django.db import connection

    version = connection.cursor().connection.info.server_version
    args.versions = f"PostgreSQL {version // 10000}.{version % 10000}"
    user = manager()
    timings, ilike, details, ok = [], [], [], True
    for language, word, kind in QUERIES:
        count, page = first_page(user, word)       # warm-up, and the check
        if kind == "rare":
            expected = {f"SD-{pk:06d}" for pk in rare_tickets[language]}
            if count != len(expected) or not set(page) <= expected:
                ok = False
                details.append(f"MISMATCH {word}: {count} found, {len(expected)} expected")
        elif count == 0:
            ok = False
            details.append(f"MISMATCH {word}: nothing found")
        mine = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            first_page(user, word)
            mine.append((time.perf_counter() - began) * 1000)
        timings += mine
        began = time.perf_counter()
        ilike_page(word)
        ilike.append((time.perf_counter() - began) * 1000)
        details.append(f"{language} {kind} {word!r}: {count} tickets, median {statistics.median(mine):.1f} ms, "
                       f"ILIKE {ilike[-1]:.0f} ms")
    p95 = percentile(timings, 0.95)
    if not args.smoke and p95 >= TARGET_MS:
        ok = False
    line = (f"{args.messages:,} messages: search (count + first {PAGE}) p50 {percentile(timings, 0.5):.1f} ms, "
            f"p95 {p95:.1f} ms, max {max(timings):.1f} ms over {len(QUERIES)} queries x {args.repeats}; "
            f"ILIKE baseline p50 {percentile(ilike, 0.5):.0f} ms, p95 {percentile(ilike, 0.95):.0f} ms, "
            f"max {max(ilike):.0f} ms; load {loaded:.0f} s; {'OK' if ok else 'FAILED'}")
    return ok, line, details


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument("--write-results", type=Path)
    parser.add_argument("--smoke", action="store_true", help="the suite's run: 3,000 messages, 2 repeats")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.repeats = 3000, 2
    try:
        ok, line, details = run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_postgres(args.database_url, drop_only=True)
    for detail in details:
        print("  " + detail)
    print(line, flush=True)
    if args.write_results:
        import django

        command = shlex.join(["python", "bench/search_bench.py", *sys.argv[1:]])
        with args.write_results.open("a", encoding="utf-8") as out:
            out.write(f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, {platform.machine()} "
                      f"nproc={os.cpu_count()} load1 {os.getloadavg()[0]:.1f}, Django {django.get_version()}, "
                      f"{args.versions}: {line}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

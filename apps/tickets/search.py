"""Full-text search over tickets: one indexed document per message and one for the subject.

What is indexed (``tokens``) is made here in Python the same way for both databases: the
text as written, except that each run of Chinese or Japanese characters becomes its
overlapping character bigrams ("请问发票" → "请问 问发 发票"), since neither database can
split those languages into words.

- PostgreSQL: a generated ``document`` column (migration 0009) is ``to_tsvector`` of the
  tokens in the document language's configuration (english, swedish, spanish, german;
  ``simple`` for Chinese and Japanese), under a GIN index. A query is
  ``websearch_to_tsquery`` in each language's configuration, matched against that
  language's documents only, ``&&`` the AND of its CJK bigrams; ranked with ``ts_rank``.
- SQLite: an FTS5 table over the same tokens, kept current by triggers (migration 0009).
  FTS5 does not stem: a word matches the same word only (case-insensitive), where
  PostgreSQL also matches its other forms ("invoices" finds "invoice"); nor does it drop
  stop words. Ranked with ``bm25``. CJK words match alike on both.

Every write of a message or a ticket in ``apps.tickets.services`` indexes it in the same
statement count whatever the batch (one insert); the chat's own fast paths call
``index_messages`` too.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BooleanField, Expression, F, FloatField, Max, QuerySet
from django.db.models.expressions import RawSQL

from apps.tickets.models import Message, SearchDocument, Ticket

# Hiragana, katakana (with the prolonged sound mark), CJK ideographs and their extensions and
# compatibility forms, half-width katakana.
CJK = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+")
# PostgreSQL's text search configurations per desk language; the others use ``simple``.
CONFIGS = {"en": "english", "sv": "swedish", "es": "spanish", "de": "german"}
SIMPLE = "simple"
# A tsvector holds at most 1 MB; a longer message (a pasted log) is indexed from its start.
MAX_TOKENS = 200_000
FTS_TABLE = "tickets_search_fts"
# A search ranks the tickets of its newest matching documents, at most this many documents (a
# ticket has a few each): every match of a rare word, the recent ones of a common word. As in
# Zendesk's search (at most 1,000 results), narrowing the search or the dates reaches older ones.
MAX_DOCUMENTS = 2000
WORD = re.compile(r"\w+")


def bigrams(run: str) -> list[str]:
    """The overlapping character pairs of a CJK run; a lone character stands for itself."""
    if len(run) < 2:
        return [run]
    return [run[index:index + 2] for index in range(len(run) - 1)]


def tokens_of(*texts: str) -> str:
    """What the index reads for ``texts``: the text, with each CJK run as its bigrams."""
    text = "\n".join(text for text in texts if text)
    return CJK.sub(lambda run: " " + " ".join(bigrams(run.group())) + " ", text)[:MAX_TOKENS]


def config_of(language: str) -> str:
    return CONFIGS.get(language, SIMPLE)


def index_messages(messages: Iterable[Message], *, languages: dict[int, str] | None = None) -> None:
    """Index new messages, one insert for all (``languages``: ticket id → language, when the tickets aren't loaded)."""
    documents = [SearchDocument(ticket_id=message.ticket_id, message_id=message.pk,
                                language=languages[message.ticket_id] if languages else message.ticket.language,
                                tokens=tokens_of(message.body_text), created_at=message.created_at)
                 for message in messages if message.body_text]
    SearchDocument.objects.bulk_create(documents)


def index_subjects(tickets: Iterable[Ticket]) -> None:
    """Index new tickets' subjects, one insert for all."""
    SearchDocument.objects.bulk_create([
        SearchDocument(ticket_id=ticket.pk, message=None, language=ticket.language, tokens=tokens_of(ticket.subject),
                       created_at=ticket.received_at)
        for ticket in tickets if ticket.subject])


def relanguage(*, ticket: Ticket) -> None:
    """The ticket's language changed (triage): its documents are read in the new language."""
    SearchDocument.objects.filter(ticket_id=ticket.pk).exclude(language=ticket.language).update(
        language=ticket.language)


@dataclass(frozen=True)
class Query:
    """A search as typed: the words outside CJK runs (web-search syntax on PostgreSQL), and each CJK run.

    ``any_term``: a document matches with any one word or bigram (``similar_to``), not all of them.
    """

    words: str
    runs: tuple[str, ...]
    any_term: bool = False

    @classmethod
    def parse(cls, text: str) -> "Query":
        return cls(words=" ".join(CJK.sub(" ", text).split()), runs=tuple(CJK.findall(text)))

    def __bool__(self) -> bool:
        return bool(WORD.search(self.words) or self.runs)

    @property
    def grams(self) -> list[str]:
        return [gram for run in self.runs for gram in bigrams(run)]

    def fts5(self) -> str:
        """The FTS5 query: every word and every bigram (each quoted, so nothing is an operator)."""
        terms = [term.lower() for term in WORD.findall(self.words)] + self.grams
        return (" OR " if self.any_term else " AND ").join('"{}"'.format(term.replace('"', '""')) for term in terms)


# Words too common in support mail to tell one ticket from another, in the desk's four word languages.
# (PostgreSQL drops its own stop words; FTS5 does not, and an OR of "the" would match everything.)
# (Only words of four letters or more: shorter ones are never chosen.)
COMMON = frozenset(word for line in (
    "that this with have from your will would could when what where there their them they been were about into "
    "just also some here please thanks thank hello dear regards best kind does doesn dont cannot",       # en
    "inte till vänliga hälsningar eller mitt",                                                           # sv
    "para pero esta este hola gracias saludos tengo",                                                    # es
    "nicht eine sich habe hallo danke grüße bitte wenn",                                                 # de
) for word in line.split())
SIMILAR_WORDS = 8
SIMILAR_GRAMS = 6


def similar_to(*texts: str) -> Query:
    """A cheap "more like this" query for ``texts`` (a ticket's subject and first message).

    Distinctive words are guessed without a look at the index: the longest words that are not
    common ones or numbers (a long word is a rare one, "Fehlermeldung" against "kann"), at most
    eight, and the first six distinct bigrams of the CJK runs; any one of them matches, and the
    rank puts the tickets sharing most of them first.
    """
    text = "\n".join(text for text in texts if text)
    words: dict[str, None] = {}
    for word in WORD.findall(CJK.sub(" ", text)):
        key = word.lower()
        if len(key) >= 4 and not key.isdigit() and key not in COMMON and "_" not in key:
            words.setdefault(key)
    chosen = sorted(words, key=len, reverse=True)[:SIMILAR_WORDS]
    grams: dict[str, None] = {}
    for run in CJK.findall(text):
        for gram in bigrams(run):
            if len(gram) == 2:
                grams.setdefault(gram)
    return Query(words=" ".join(chosen), runs=tuple(list(grams)[:SIMILAR_GRAMS]), any_term=True)


class _OnDocuments(Expression):
    """SQL over the search documents joined to a ticket query: ``{doc}`` is their alias.

    The joined table is found through its ``language`` column, so the filter and the
    rank (an aggregate) name the same join and Django groups by the ticket. Over a
    query of the documents themselves, ``column="language"`` names their own table.
    """

    def __init__(self, template: str, params: list, output_field, *, column: str = "search_documents__language"):
        super().__init__(output_field=output_field)
        self.template, self.params = template, params
        self.column = F(column)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, expressions):
        (self.column,) = expressions

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        alias = sql.rsplit(".", 1)[0]
        return self.template.format(doc=alias), [*params, *self.params]


def _tsqueries(query: Query, configs: list[str]) -> dict[str, str]:
    """The query as a tsquery per configuration, made once: in SQL, each row would parse it again.

    A configuration whose query keeps no lexeme (only stop words) is left out: it matches nothing.
    """
    parts, params = [], []
    if WORD.search(query.words):
        parts.append("websearch_to_tsquery(c::regconfig, %s)")
        # Web-search syntax: "or" between words is an OR (``similar_to``'s words are plain \w+ words).
        params.append(" or ".join(query.words.split()) if query.any_term else query.words)
    if query.runs:
        parts.append("websearch_to_tsquery('simple', %s)" if query.any_term else "plainto_tsquery('simple', %s)")
        params.append((" or " if query.any_term else " ").join(query.grams))
    joint = " || " if query.any_term else " && "
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c, ({joint.join(parts)})::text FROM unnest(%s::text[]) AS c",
                       [*params, configs])
        return {config: tsquery for config, tsquery in cursor.fetchall() if tsquery}


def _postgresql_parts(query: Query, languages: list[str]) -> tuple[str, list, str, list]:
    """The match (per language: its documents, in its configuration) and the rank, with their parameters."""
    by_config: dict[str, list[str]] = {}
    for language in languages:
        by_config.setdefault(config_of(language), []).append(language)
    tsqueries = _tsqueries(query, list(by_config))
    match, match_params, rank, rank_params = [], [], [], []
    for config, members in by_config.items():
        if config not in tsqueries:
            continue
        languages_sql = f"{{doc}}.language IN ({', '.join(['%s'] * len(members))})"
        match.append(f"({languages_sql} AND {{doc}}.document @@ %s::tsquery)")
        match_params += [*members, tsqueries[config]]
        rank.append(f"WHEN {languages_sql} THEN ts_rank({{doc}}.document, %s::tsquery)")
        rank_params += [*members, tsqueries[config]]
    if not match:
        return "", [], "", []
    return ("(" + " OR ".join(match) + ")", match_params,
            "(CASE " + " ".join(rank) + " ELSE 0 END)", rank_params)


def ranked(tickets: QuerySet[Ticket], text: "str | Query", *, languages: list[str]) -> QuerySet[Ticket]:
    """``tickets`` whose subject or a message matches ``text`` (or a made ``Query``), best first, then newest.

    ``languages``: the ticket languages the caller's filter leaves (fewer, less to match).
    Each ticket carries ``search_rank``, its best document's rank. Only the tickets of the
    newest ``MAX_DOCUMENTS`` matching documents are ranked (see there).
    """
    query = text if isinstance(text, Query) else Query.parse(text)
    if not query or not languages:
        return tickets.none()
    # The vendor, not ``on_postgresql``: FTS5 exists only on SQLite, even inside ``portable()``.
    if connection.vendor == "postgresql":
        match, match_params, rank, rank_params = _postgresql_parts(query, languages)
        if not match:
            return tickets.none()
        ranks = _newest_matches(tickets, match.format(doc="d"), match_params, rank.format(doc="d"), rank_params)
        ids, values = list(ranks), list(ranks.values())
        return (tickets.filter(pk__in=ids)
                .annotate(search_rank=RawSQL(f"(%s::float8[])[array_position(%s::bigint[], "
                                             f"{Ticket._meta.db_table}.id)]", [values, ids],
                                             output_field=FloatField()))
                .order_by("-search_rank", "-received_at", "-pk"))
    match = (f"{{doc}}.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s) "
             f"AND {{doc}}.language IN ({', '.join(['%s'] * len(languages))})")
    match_params = [query.fts5(), *languages]
    # bm25 is lower for a better match.
    rank = f"(SELECT -bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid = {{doc}}.id)"
    newest = (SearchDocument.objects.filter(ticket__in=tickets.order_by().values("pk"))
              .filter(_OnDocuments(match, match_params, BooleanField(), column="language"))
              .order_by("-created_at", "-pk").values("ticket_id")[:MAX_DOCUMENTS])
    return (tickets.filter(pk__in=newest).filter(_OnDocuments(match, match_params, BooleanField()))
            .annotate(search_rank=Max(_OnDocuments(rank, [query.fts5()], FloatField())))
            .order_by("-search_rank", "-received_at", "-pk"))


def _newest_matches(tickets: QuerySet[Ticket], match: str, match_params: list, rank: str,
                    rank_params: list) -> dict[int, float]:
    """``{ticket id: best rank}`` over the newest ``MAX_DOCUMENTS`` documents matching, of ``tickets`` (PostgreSQL).

    A word in more documents than that is read newest first along the ``created_at`` index
    and stops at the limit; a rarer one is read whole from the GIN index and sorted. The
    planner cannot tell them apart for CJK text (it takes a run's bigrams as independent,
    so it expects almost no match), so a bounded count decides, and the first way is
    asked for explicitly.
    """
    table = SearchDocument._meta.db_table
    visible, visible_params = "", []
    if tickets.query.where:          # a filtered list (an agent's tickets, a status): its tickets only
        subquery, visible_params = tickets.order_by().values("pk").query.sql_with_params()
        visible = f" AND d.ticket_id IN ({subquery})"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} d WHERE {match} LIMIT %s) AS probe",
                       [*match_params, MAX_DOCUMENTS + 1])
        if cursor.fetchone()[0] > MAX_DOCUMENTS:
            # Along the index, newest first, stopping at the limit: nothing to plan in parallel or compile.
            cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; "
                           "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(f"SELECT ticket_id, max(rank) FROM (SELECT d.ticket_id, {rank} AS rank FROM {table} d "
                       f"WHERE {match}{visible} ORDER BY d.created_at DESC, d.id DESC LIMIT %s) AS newest "
                       "GROUP BY ticket_id", [*rank_params, *match_params, *visible_params, MAX_DOCUMENTS])
        return dict(cursor.fetchall())

"""The small JQL subset the stand-in understands; anything else is refused, as Jira refuses bad JQL.

Grammar: clause (AND clause)* [ORDER BY field [ASC|DESC]], where a clause is
`field = value`, `field != value`, `field in (v, ...)` or `field not in (v, ...)` over the
fields project, key/issuekey, labels, status and statusCategory. Values are bare words or
"quoted strings". Matching is case-insensitive except for labels, which Jira compares exactly.
"""

import re
from dataclasses import dataclass

FIELDS = {"project", "key", "issuekey", "labels", "status", "statuscategory"}
ORDER_FIELDS = {"key", "created", "updated"}
_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>!=|=|\(|\)|,)|(?P<word>[A-Za-z0-9_.\-]+))')


class JqlError(ValueError):
    """The query uses something outside the subset; Jira answers such queries with 400."""


@dataclass(frozen=True)
class Clause:
    field: str
    negated: bool
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order_by: str = "key"
    descending: bool = False

    def matches(self, issue: dict) -> bool:
        """Whether an issue (a dict with key, project, labels, status, category) fits every clause."""
        return all(_clause_matches(clause, issue) for clause in self.clauses)


def _clause_matches(clause: Clause, issue: dict) -> bool:
    if clause.field == "labels":
        found = any(value in issue["labels"] for value in clause.values)
    else:
        actual = {
            "project": issue["project"], "key": issue["key"], "issuekey": issue["key"],
            "status": issue["status"], "statuscategory": issue["category"],
        }[clause.field].lower()
        wanted = {value.lower() for value in clause.values}
        if clause.field == "statuscategory":
            wanted |= {_CATEGORY_BY_NAME.get(value, value) for value in wanted}
        found = actual in wanted
    return found != clause.negated


_CATEGORY_BY_NAME = {"to do": "new", "in progress": "indeterminate", "done": "done"}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


def parse(text: str) -> Query:
    """Parse a query, or raise JqlError with a message in Jira's words."""
    tokens = _tokens(text)
    clauses, position = [], 0

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise JqlError("Error in the JQL Query: Expecting more input at the end of the query.")
        position += 1
        return tokens[position - 1]

    def peek_word(*words: str) -> bool:
        return (position < len(tokens) and tokens[position][0] == "word"
                and tokens[position][1].lower() in words)

    def value() -> str:
        kind, text = take()
        if kind not in ("word", "string"):
            raise JqlError(f"Error in the JQL Query: Expecting a value but got '{text}'.")
        return text

    while True:
        kind, field = take()
        if kind != "word" or field.lower() not in FIELDS:
            raise JqlError(f"Error in the JQL Query: Field '{field}' is not supported here.")
        negated = False
        if peek_word("not"):
            take()
            negated = True
            if not peek_word("in"):
                raise JqlError("Error in the JQL Query: Expecting 'in' after 'not'.")
        if peek_word("in"):
            take()
            if take() != ("op", "("):
                raise JqlError("Error in the JQL Query: Expecting '(' after 'in'.")
            values = [value()]
            while (separator := take()) == ("op", ","):
                values.append(value())
            if separator != ("op", ")"):
                raise JqlError("Error in the JQL Query: Expecting ')' to close the list.")
        else:
            op = take()
            if negated or op not in (("op", "="), ("op", "!=")):
                raise JqlError(f"Error in the JQL Query: The operator '{op[1]}' is not supported here.")
            negated = op[1] == "!="
            values = [value()]
        clauses.append(Clause(field.lower(), negated, tuple(values)))
        if peek_word("and"):
            take()
            continue
        break

    order_by, descending = "key", False
    if peek_word("order"):
        take()
        if not peek_word("by"):
            raise JqlError("Error in the JQL Query: Expecting 'by' after 'order'.")
        take()
        order_by = value().lower()
        if order_by not in ORDER_FIELDS:
            raise JqlError(f"Error in the JQL Query: Cannot order by '{order_by}' here.")
        if peek_word("asc", "desc"):
            descending = take()[1].lower() == "desc"
    if position != len(tokens):
        raise JqlError(f"Error in the JQL Query: Unexpected '{tokens[position][1]}'.")
    return Query(tuple(clauses), order_by, descending)

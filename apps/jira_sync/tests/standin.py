"""A local Jira stand-in: the REST v2 endpoints the `jira` library calls to forward a ticket.

Tests and the benchmark talk to it over real HTTP, so the library's own session, retries and
error mapping run exactly as against Jira. Faults (500, 503/429 with Retry-After, slow answers,
a create whose response is lost after the issue exists) are injected deterministically.

    with JiraStandIn(deployment="Cloud") as jira:
        client = JIRA(server=jira.url, basic_auth=("bot@example.org", "token"), max_retries=0)

Run as a process for the benchmark: python -m apps.jira_sync.tests.standin --port 0
"""

import argparse
import base64
import email.parser
import email.policy
import json
import random
import signal
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from apps.jira_sync.tests import standin_webhooks

API = "/rest/api/2/"
LOST = "lost"  # a fault "status": do the work, then reset the connection without an answer
DEFAULT_PROJECTS = {"SUP": ("Bug", "Task", "Story", "Question", "Improvement")}
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
STANDARD_STATUSES = {"To Do": "10000", "In Progress": "10001", "Done": "10002"}


def jira_time(moment: datetime | None = None) -> str:
    """Jira's timestamp format, e.g. 2026-12-05T13:51:04.000+0000."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class StoredIssue:
    id: str
    key: str
    project: str
    issuetype: str
    fields: dict
    labels: list[str]
    status: str = "To Do"
    category: str = "new"
    resolution: str | None = None
    created: str = field(default_factory=jira_time)
    updated: str = field(default_factory=jira_time)
    comments: list[dict] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    remote_links: list[dict] = field(default_factory=list)


@dataclass
class _Fault:
    status: int | str
    remaining: int
    retry_after: int | None
    path_contains: str
    method: str = ""
    exact: bool = False  # path_contains is the whole path, not a part of it


class JiraError(Exception):
    """An answer in Jira's error shape; raised inside handlers, turned into a response."""

    def __init__(self, status: int, messages: list[str] | None = None, errors: dict | None = None):
        super().__init__(status, messages, errors)
        self.status, self.body = status, {"errorMessages": messages or [], "errors": errors or {}}


class JiraStandIn:
    """A threaded HTTP server on 127.0.0.1 holding projects and issues in memory, thread-safe."""

    def __init__(self, *, port: int = 0, deployment: str = "Server", projects: dict | None = None):
        self.port_wanted = port
        self.deployment = deployment  # "Server" → /search, "Cloud" → /search/jql
        self.projects = {key: tuple(types) for key, types in (projects or DEFAULT_PROJECTS).items()}
        self.lock = threading.RLock()
        self.required_auth: set[tuple[str, str]] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> "JiraStandIn":
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port_wanted), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="jira-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "JiraStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget issues, counters, faults, delays and the auth seen; keep projects and required auth."""
        with self.lock:
            self.issues: dict[str, StoredIssue] = {}
            self.next_number: Counter[str] = Counter()
            self.create_calls = 0
            self.issues_created = 0
            self.calls: Counter[tuple[str, str]] = Counter()
            self.auth_seen: set[tuple[str, str]] = set()
            self._faults: list[_Fault] = []
            self._ratio: tuple[float, random.Random, tuple, int | None, str] | None = None
            self._delays: list[tuple[float, str]] = []
            self.search_index_frozen_at: int | None = None

    # configuration -----------------------------------------------------------------------
    def add_project(self, key: str, issue_types=("Bug", "Task")) -> None:
        with self.lock:
            self.projects[key] = tuple(issue_types)

    def require_auth(self, *, basic: tuple[str, str] | None = None, bearer: str | None = None) -> None:
        """Answer 401 unless a request carries one of the credentials given so far."""
        with self.lock:
            if basic:
                self.required_auth.add(("basic", f"{basic[0]}:{basic[1]}"))
            if bearer:
                self.required_auth.add(("bearer", bearer))

    # faults ------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int | str, retry_after: int | None = None,
                  path_contains: str = "", method: str = "", *, exact: bool = False) -> None:
        """Answer the next n matching requests with status (or LOST), with Retry-After if given."""
        with self.lock:
            self._faults.append(_Fault(status, n, retry_after, path_contains, method.upper(), exact))

    def fail_ratio(self, p: float, seed: int, statuses=(500, 503), retry_after: int | None = 1,
                   path_contains: str = "") -> None:
        """Fail a seeded share p of matching requests with a status drawn from statuses (LOST allowed)."""
        with self.lock:
            self._ratio = (p, random.Random(seed), tuple(statuses), retry_after, path_contains)

    def lose_next_create_response(self, n: int = 1) -> None:
        """The next n creates store the issue, then the connection is reset without a response."""
        self.fail_next(n, LOST, path_contains=API + "issue", method="POST", exact=True)

    def delay(self, seconds: float, path_contains: str = "") -> None:
        """Every matching request waits this long before it is answered, until reset()."""
        with self.lock:
            self._delays.append((seconds, path_contains))

    def freeze_search_index(self) -> None:
        """Issues created from now on are invisible to search until thaw (Cloud's /search/jql lags
        behind creates); a Cloud search naming them in reconcileIssues still finds them."""
        with self.lock:
            self.search_index_frozen_at = self.issues_created

    def thaw_search_index(self) -> None:
        with self.lock:
            self.search_index_frozen_at = None

    def _fault_for(self, method: str, path: str) -> _Fault | None:
        with self.lock:
            for fault in self._faults:
                where = path.rstrip("/") == fault.path_contains if fault.exact else fault.path_contains in path
                if fault.remaining > 0 and where and fault.method in ("", method):
                    fault.remaining -= 1
                    return fault
            if self._ratio and self._ratio[4] in path:
                p, rng, statuses, retry_after, _ = self._ratio
                if rng.random() < p:
                    return _Fault(statuses[rng.randrange(len(statuses))], 0, retry_after, "")
        return None

    def _delay_for(self, path: str) -> float:
        with self.lock:
            return sum(seconds for seconds, part in self._delays if part in path)

    # webhook-side helpers ----------------------------------------------------------------
    def set_status(self, key: str, name: str, category: str, resolution: str | None = None) -> dict:
        """Move an issue as a Jira user would; returns the changelog item for webhook_payload."""
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {sorted(CATEGORIES)}")
        with self.lock:
            issue = self.issues[key]
            item = {"field": "status", "fieldtype": "jira", "fieldId": "status",
                    "from": _status_id(issue.status), "fromString": issue.status,
                    "to": _status_id(name), "toString": name}
            issue.status, issue.category = name, category
            issue.resolution = (resolution or "Done") if category == "done" else None
            issue.updated = jira_time()
            return item

    def add_label(self, key: str, label: str) -> dict:
        with self.lock:
            issue = self.issues[key]
            before = " ".join(issue.labels)
            if label not in issue.labels:
                issue.labels.append(label)
            issue.updated = jira_time()
            return {"field": "labels", "fieldtype": "jira", "fieldId": "labels",
                    "from": None, "fromString": before, "to": None, "toString": " ".join(issue.labels)}

    def add_comment_as(self, key: str, author: str, body: str, *, public: bool = True) -> dict:
        """A comment written in Jira by author (a display name); returns Jira's comment JSON."""
        with self.lock:
            return self._store_comment(self.issues[key], body, _user(author), public=public)

    def webhook_payload(self, event: str, key: str, *, changelog_items: list[dict] | None = None,
                        comment: dict | None = None, user: str = "Owner Person",
                        timestamp_ms: int | None = None) -> dict:
        """The JSON body Jira Cloud posts for event (jira:issue_updated, comment_created, ...)."""
        with self.lock:
            issue_json = self.issue_json(self.issues[key])
        return standin_webhooks.payload(
            event, issue_json, changelog_items=changelog_items, comment=comment,
            user=_user(user), timestamp_ms=timestamp_ms)

    # state → JSON ------------------------------------------------------------------------
    def issue_json(self, issue: StoredIssue) -> dict:
        base = self.url + API
        category_id, category_name, colour = CATEGORIES[issue.category]
        fields = dict(issue.fields)
        fields.update({
            "summary": issue.fields.get("summary", ""),
            "labels": list(issue.labels),
            "project": self._project_json(issue.project, brief=True),
            "issuetype": self._issuetype_json(issue.project, issue.issuetype),
            "status": {
                "self": f"{base}status/{_status_id(issue.status)}", "id": _status_id(issue.status),
                "name": issue.status, "description": "",
                "statusCategory": {"self": f"{base}statuscategory/{category_id}", "id": category_id,
                                   "key": issue.category, "colorName": colour, "name": category_name},
            },
            "resolution": ({"self": f"{base}resolution/10000", "id": "10000", "name": issue.resolution}
                           if issue.resolution else None),
            "resolutiondate": issue.updated if issue.resolution else None,
            "created": issue.created,
            "updated": issue.updated,
            "comment": {"comments": list(issue.comments), "maxResults": len(issue.comments),
                        "total": len(issue.comments), "startAt": 0},
            "attachment": [self._attachment_json(issue, i) for i in range(len(issue.attachments))],
        })
        return {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "id": issue.id, "self": f"{base}issue/{issue.id}", "key": issue.key, "fields": fields}

    def _project_json(self, key: str, brief: bool = False) -> dict:
        project_id = str(10000 + list(self.projects).index(key))
        data = {"self": f"{self.url}{API}project/{project_id}", "id": project_id, "key": key,
                "name": f"Project {key}", "projectTypeKey": "software", "simplified": False}
        if not brief:
            data["issueTypes"] = [self._issuetype_json(key, name) for name in self.projects[key]]
        return data

    def _issuetype_json(self, project: str, name: str) -> dict:
        type_id = str(10000 + self.projects[project].index(name))
        return {"self": f"{self.url}{API}issuetype/{type_id}", "id": type_id, "name": name,
                "description": "", "subtask": False}

    def _attachment_json(self, issue: StoredIssue, index: int) -> dict:
        name, content = issue.attachments[index]
        attachment_id = str(int(issue.id) * 1000 + index)
        return {"self": f"{self.url}{API}attachment/{attachment_id}", "id": attachment_id,
                "filename": name, "author": _user("Integration"), "created": jira_time(),
                "size": len(content), "mimeType": "application/octet-stream",
                "content": f"{self.url}/secure/attachment/{attachment_id}/{name}"}

    def _store_comment(self, issue: StoredIssue, body: str, author: dict, public: bool = True) -> dict:
        comment_id = str(int(issue.id) * 1000 + len(issue.comments) + 1)
        now = jira_time()
        comment = {"self": f"{self.url}{API}issue/{issue.id}/comment/{comment_id}", "id": comment_id,
                   "author": author, "body": body, "updateAuthor": author, "created": now, "updated": now,
                   "jsdPublic": public}
        issue.comments.append(comment)
        issue.updated = now
        return comment


def _status_id(name: str) -> str:
    return STANDARD_STATUSES.get(name, str(20000 + sum(map(ord, name))))


def _user(display_name: str) -> dict:
    account = "557058:" + base64.b32encode(display_name.encode()).decode().lower().strip("=")[:24]
    return {"self": f"https://example.atlassian.net/rest/api/2/user?accountId={account}",
            "accountId": account, "displayName": display_name, "active": True,
            "timeZone": "Europe/Stockholm", "accountType": "atlassian"}


def _handler_for(standin: JiraStandIn) -> type[BaseHTTPRequestHandler]:
    from apps.jira_sync.tests.standin_routes import Routes

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the library's session expects

        def setup(self):
            super().setup()  # headers and body go out in two writes: without NODELAY each answer waits ~40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format, *args):  # noqa: A002 - quiet; tests read standin.calls
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            path = unquote(url.path)
            with standin.lock:
                standin.calls[(method, path)] += 1
                if method == "POST" and path.rstrip("/") == API + "issue":
                    standin.create_calls += 1
            if seconds := standin._delay_for(path):
                time.sleep(seconds)
            fault = standin._fault_for(method, path)
            if fault and fault.status != LOST:
                headers = {"Retry-After": str(fault.retry_after)} if (
                    fault.retry_after is not None and fault.status in (429, 503)) else {}
                return self._answer(fault.status, {"errorMessages": ["Injected failure"], "errors": {}}, headers)
            try:
                self._check_auth()
                status, data = Routes(standin, self.headers, body, parse_qs(url.query)).dispatch(method, path)
            except JiraError as error:
                status, data = error.status, error.body
            if fault:  # LOST: the work is done, the answer never arrives
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            self._answer(status, data)

        def _check_auth(self) -> None:
            header = self.headers.get("Authorization", "")
            seen = None
            if header.startswith("Basic "):
                seen = ("basic", base64.b64decode(header[6:]).decode())
            elif header.startswith("Bearer "):
                seen = ("bearer", header[7:])
            with standin.lock:
                if seen:
                    standin.auth_seen.add(seen)
                if standin.required_auth and seen not in standin.required_auth:
                    raise JiraError(401, ["Client must be authenticated to access this resource."])

        def _answer(self, status: int, data, headers: dict | None = None) -> None:
            payload = b"" if data is None else json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def multipart_files(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(filename, bytes) of each file part in a multipart/form-data body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return [(part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts() if part.get_filename()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a local Jira stand-in until SIGTERM.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deployment", choices=("Server", "Cloud"), default="Server")
    parser.add_argument("--project", action="append", default=[], help="extra project key")
    parser.add_argument("--fail-ratio", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fail-statuses", default="500,503,429,lost",
                        help="comma-separated statuses for --fail-ratio; 'lost' drops the answer")
    parser.add_argument("--fail-path", default=API + "issue",
                        help="only requests whose path contains this (default: issue resources, not serverInfo/search)")
    args = parser.parse_args(argv)
    standin = JiraStandIn(port=args.port, deployment=args.deployment)
    for key in args.project:
        standin.add_project(key, DEFAULT_PROJECTS["SUP"])
    if args.fail_ratio:
        statuses = [s if s == LOST else int(s) for s in args.fail_statuses.split(",")]
        standin.fail_ratio(args.fail_ratio, args.seed, statuses, path_contains=args.fail_path)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with standin:
        print(standin.url, flush=True)
        stopped.wait()
        with standin.lock:
            print(json.dumps({"create_calls": standin.create_calls, "issues_created": standin.issues_created,
                              "issues": len(standin.issues)}), flush=True)


if __name__ == "__main__":
    main()

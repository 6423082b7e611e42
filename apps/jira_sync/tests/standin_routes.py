"""The stand-in's REST v2 resources, each answering as Jira does for the `jira` library's calls."""

import base64
import json
import re

from apps.jira_sync.tests import standin_jql
from apps.jira_sync.tests.standin import API, JiraError, StoredIssue, multipart_files

APPLICATION_LINKS = "/rest/applinks/latest/listApplicationlinks"
NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class Routes:
    """One request: method + path → (status, JSON). Runs under the stand-in's lock."""

    def __init__(self, standin, headers, body: bytes, query: dict[str, list[str]]):
        self.standin, self.headers, self.body, self.query = standin, headers, body, query

    def dispatch(self, method: str, path: str) -> tuple[int, object]:
        if path == APPLICATION_LINKS:  # add_remote_link asks first; only Jira admins may list them
            raise JiraError(403, ["You must be a Jira administrator to list application links."])
        if not path.startswith(API):
            raise JiraError(404, [f"No resource at {path}"])
        route = path[len(API):].rstrip("/")
        for pattern, verb, handler in ROUTES:
            match = re.fullmatch(pattern, route)
            if match and verb == method:
                with self.standin.lock:
                    return handler(self, *match.groups())
        raise JiraError(404, [f"No resource at {method} {path}"])

    # helpers -----------------------------------------------------------------------------
    def json_body(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise JiraError(400, ["Unexpected character in the JSON body."]) from None

    def param(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def issue(self, key_or_id: str) -> StoredIssue:
        issues = self.standin.issues
        found = issues.get(key_or_id.upper()) or next(
            (issue for issue in issues.values() if issue.id == key_or_id), None)
        if not found:
            raise JiraError(404, [NOT_FOUND])
        return found

    # resources ---------------------------------------------------------------------------
    def server_info(self):
        cloud = self.standin.deployment == "Cloud"
        version = [1001, 0, 0] if cloud else [9, 12, 2]
        return 200, {"baseUrl": self.standin.url, "version": ".".join(map(str, version)),
                     "versionNumbers": version, "deploymentType": self.standin.deployment,
                     "buildNumber": 100250, "buildDate": "2026-11-01T00:00:00.000+0000",
                     "serverTime": "2026-12-05T12:00:00.000+0000", "scmInfo": "standin",
                     "serverTitle": "Jira stand-in"}

    def myself(self):
        """The signed-in account: the integration user the desk's own comments are written by."""
        return 200, {"accountId": "557058:integration", "name": "integration", "displayName": "Integration",
                     "active": True}

    def fields(self):
        names = ("summary", "description", "labels", "status", "project", "issuetype", "resolution",
                 "priority", "created", "updated", "comment", "attachment")
        return 200, [{"id": name, "key": name, "name": name.title(), "custom": False,
                      "clauseNames": [name], "navigable": True, "searchable": True} for name in names]

    def projects(self):
        return 200, [self.standin._project_json(key) for key in self.standin.projects]

    def project(self, key_or_id: str):
        for key in self.standin.projects:
            if key_or_id.upper() == key or self.standin._project_json(key)["id"] == key_or_id:
                return 200, self.standin._project_json(key)
        raise JiraError(404, [f"No project could be found with key '{key_or_id}'."])

    def issue_types(self):
        seen = {}
        for key, names in self.standin.projects.items():
            for name in names:
                seen.setdefault(name, self.standin._issuetype_json(key, name))
        return 200, list(seen.values())

    def create_issue(self):
        fields = self.json_body().get("fields") or {}
        project = self._project_key(fields.get("project") or {})
        issuetype = self._issuetype_name(project, fields.get("issuetype") or {})
        errors = {}
        if not project:
            errors["project"] = "valid project is required"
        elif not issuetype:
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary") or ""
        if not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        labels = fields.get("labels") or []
        bad = [label for label in labels if not isinstance(label, str) or " " in label or not label]
        if bad:
            errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
        if errors:
            raise JiraError(400, [], errors)
        standin = self.standin
        standin.next_number[project] += 1
        standin.issues_created += 1
        key = f"{project}-{standin.next_number[project]}"
        extra = {name: value for name, value in fields.items()
                 if name not in ("project", "issuetype", "labels")}
        issue = StoredIssue(id=str(10000 + standin.issues_created), key=key, project=project,
                            issuetype=issuetype, fields=extra, labels=list(labels))
        standin.issues[key] = issue
        return 201, {"id": issue.id, "key": key, "self": f"{standin.url}{API}issue/{issue.id}"}

    def _project_key(self, ref: dict) -> str | None:
        for key in self.standin.projects:
            if ref.get("key") == key or ref.get("id") == self.standin._project_json(key)["id"]:
                return key
        return None

    def _issuetype_name(self, project: str | None, ref: dict) -> str | None:
        if not project:
            return None
        for name in self.standin.projects[project]:
            if ref.get("name") == name or ref.get("id") == self.standin._issuetype_json(project, name)["id"]:
                return name
        return None

    def get_issue(self, key_or_id: str):
        return 200, self.standin.issue_json(self.issue(key_or_id))

    def search(self):
        params = self.json_body() if self.body else {name: values[0] for name, values in self.query.items()}
        query = self._query(params.get("jql", ""))
        start = int(params.get("startAt") or 0)
        size = min(int(params.get("maxResults") or 50), 1000)
        found = self._matching(query, reconciled=set())
        return 200, {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(found),
                     "issues": [self.standin.issue_json(issue) for issue in found[start:start + size]]}

    def search_jql(self):
        params = self.json_body() if self.body else {name: values[0] for name, values in self.query.items()}
        query = self._query(params.get("jql", ""))
        token = params.get("nextPageToken")
        start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        size = min(int(params.get("maxResults") or 50), 100)
        reconciled = self.json_body().get("reconcileIssues", []) if self.body else self.query.get("reconcileIssues", [])
        found = self._matching(query, reconciled={str(issue_id) for issue_id in reconciled})
        page = found[start:start + size]
        data = {"issues": [self.standin.issue_json(issue) for issue in page],
                "isLast": start + size >= len(found)}
        if not data["isLast"]:
            data["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return 200, data

    def _query(self, jql: str) -> standin_jql.Query:
        try:
            return standin_jql.parse(jql)
        except standin_jql.JqlError as error:
            raise JiraError(400, [str(error)]) from None

    def _matching(self, query: standin_jql.Query, *, reconciled: set[str]) -> list[StoredIssue]:
        """Issues fitting the query that the search index has seen (or the caller asked to reconcile)."""
        indexed = self.standin.search_index_frozen_at
        found = [issue for issue in self.standin.issues.values()
                 if (indexed is None or int(issue.id) <= 10000 + indexed or issue.id in reconciled)
                 and query.matches(
            {"key": issue.key, "project": issue.project, "labels": issue.labels,
             "status": issue.status, "category": issue.category})]
        if query.order_by == "key":
            order = lambda issue: (issue.project, int(issue.key.rsplit("-", 1)[1]))  # noqa: E731
        else:
            order = lambda issue: (getattr(issue, query.order_by), int(issue.id))  # noqa: E731
        return sorted(found, key=order, reverse=query.descending)

    def add_attachments(self, key: str):
        if self.headers.get("X-Atlassian-Token") != "no-check":
            raise JiraError(403, ["XSRF check failed"])
        issue = self.issue(key)
        files = multipart_files(self.headers.get("Content-Type", ""), self.body)
        if not files:
            raise JiraError(400, ["No file part named 'file' in the request."])
        first = len(issue.attachments)
        issue.attachments.extend(files)
        return 200, [self.standin._attachment_json(issue, i) for i in range(first, len(issue.attachments))]

    def add_remote_link(self, key: str):
        issue = self.issue(key)
        data = self.json_body()
        if not (data.get("object") or {}).get("url"):
            raise JiraError(400, [], {"url": "'url' is required for the link object."})
        global_id = data.get("globalId")
        for link in issue.remote_links:
            if global_id and link.get("globalId") == global_id:
                link.update(data)
                return 200, {"id": link["id"], "self": link["self"]}
        link_id = int(issue.id) * 1000 + len(issue.remote_links) + 1
        link = {"id": link_id, "self": f"{self.standin.url}{API}issue/{key}/remotelink/{link_id}", **data}
        issue.remote_links.append(link)
        return 201, {"id": link_id, "self": link["self"]}

    def remote_links(self, key: str):
        return 200, list(self.issue(key).remote_links)

    def add_comment(self, key: str):
        data = self.json_body()
        if not isinstance(data.get("body"), str) or not data["body"].strip():
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        author = {"displayName": "Integration", "accountId": "557058:integration", "active": True}
        return 201, self.standin._store_comment(self.issue(key), data["body"], author)

    def comments(self, key: str):
        comments = list(self.issue(key).comments)
        return 200, {"startAt": 0, "maxResults": len(comments), "total": len(comments), "comments": comments}

    def comment(self, key: str, comment_id: str):
        for comment in self.issue(key).comments:
            if comment["id"] == comment_id:
                return 200, comment
        raise JiraError(404, ["Can not find a comment for the id: " + comment_id])


ROUTES = [
    (r"serverInfo", "GET", Routes.server_info),
    (r"myself", "GET", Routes.myself),
    (r"field", "GET", Routes.fields),
    (r"project", "GET", Routes.projects),
    (r"project/([^/]+)", "GET", Routes.project),
    (r"issuetype", "GET", Routes.issue_types),
    (r"issue", "POST", Routes.create_issue),
    (r"issue/([^/]+)", "GET", Routes.get_issue),
    (r"search", "GET", Routes.search),
    (r"search", "POST", Routes.search),
    (r"search/jql", "GET", Routes.search_jql),
    (r"search/jql", "POST", Routes.search_jql),
    (r"issue/([^/]+)/attachments", "POST", Routes.add_attachments),
    (r"issue/([^/]+)/remotelink", "POST", Routes.add_remote_link),
    (r"issue/([^/]+)/remotelink", "GET", Routes.remote_links),
    (r"issue/([^/]+)/comment", "POST", Routes.add_comment),
    (r"issue/([^/]+)/comment", "GET", Routes.comments),
    (r"issue/([^/]+)/comment/([^/]+)", "GET", Routes.comment),
]

"""The Jira stand-in answers the real `jira` library as Jira does, faults included."""

import hashlib
import hmac
import io
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from jira import JIRA, JIRAError

from apps.jira_sync.tests import standin_webhooks
from apps.jira_sync.tests.standin import LOST, JiraStandIn

FIELDS = {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"}, "summary": "Export crashes",
          "description": "The user's words", "labels": ["supportdesk-SD-000123"]}


@pytest.fixture(params=["Server", "Cloud"])
def standin(request):
    with JiraStandIn(deployment=request.param) as server:
        yield server


@pytest.fixture
def server_standin():
    with JiraStandIn() as server:
        yield server


def client(standin, *, max_retries=0, **auth) -> JIRA:
    auth = auth or {"basic_auth": ("bot@example.org", "api-token")}
    jira = JIRA(server=standin.url, timeout=(3.05, 10), max_retries=max_retries, get_server_info=True, **auth)
    jira._session.max_retry_delay = 1  # the library sleeps min(this, 2 × Retry-After) × U(0.5, 1)
    return jira


def test_an_issue_created_with_a_label_is_found_by_that_label(standin):
    jira = client(standin)
    issue = jira.create_issue(fields=FIELDS)
    jira.create_issue(fields={**FIELDS, "labels": ["supportdesk-SD-000124"]})

    found = jira.search_issues('project = SUP AND labels = "supportdesk-SD-000123"')

    assert [hit.key for hit in found] == [issue.key] == ["SUP-1"]
    assert jira.search_issues("labels = supportdesk-SD-000999") == []
    path = "/rest/api/2/search/jql" if standin.deployment == "Cloud" else "/rest/api/2/search"
    assert standin.calls[("GET", path)] == 2


def test_an_issue_reads_back_with_status_category_labels_and_resolution(standin):
    jira = client(standin)
    key = jira.create_issue(fields=FIELDS, prefetch=False).key

    issue = jira.issue(key)
    assert (issue.fields.summary, issue.fields.status.name, issue.fields.status.statusCategory.key,
            issue.fields.labels, issue.fields.resolution) == (
        "Export crashes", "To Do", "new", ["supportdesk-SD-000123"], None)

    standin.set_status(key, "Done", "done")
    assert jira.issue(key).fields.status.statusCategory.key == "done"
    assert jira.issue(key).fields.resolution.name == "Done"
    assert [hit.key for hit in jira.search_issues("project = SUP AND status != Done")] == []


def test_search_pages_through_every_match(standin):
    jira = client(standin)
    keys = {jira.create_issue(fields={**FIELDS, "labels": ["bulk"]}, prefetch=False).key for _ in range(7)}

    found = jira.search_issues("labels = bulk ORDER BY key", maxResults=False)

    assert {hit.key for hit in found} == keys


def test_key_in_list_and_bad_jql(server_standin):
    jira = client(server_standin)
    first, second, _ = (jira.create_issue(fields=FIELDS, prefetch=False).key for _ in range(3))

    assert [hit.key for hit in jira.search_issues(f"key in ({first}, {second})")] == [first, second]
    with pytest.raises(JIRAError) as refused:
        jira.search_issues("summary ~ crash")
    assert refused.value.status_code == 400


def test_an_attachment_round_trips_its_bytes(standin):
    jira = client(standin)
    key = jira.create_issue(fields=FIELDS).key
    content = bytes(range(256)) * 40

    attachment = jira.add_attachment(key, io.BytesIO(content), filename="transcript.txt")

    assert (attachment.filename, attachment.size) == ("transcript.txt", len(content))
    assert standin.issues[key].attachments == [("transcript.txt", content)]
    assert [a.filename for a in jira.issue(key).fields.attachment] == ["transcript.txt"]


def test_a_simple_link_and_comments(standin):
    jira = client(standin)
    key = jira.create_issue(fields=FIELDS).key

    link = jira.add_simple_link(key, {"url": "https://desk.example.org/t/SD-000123", "title": "SD-000123"})
    comment = jira.add_comment(key, "Shared note from the agent")
    owners = standin.add_comment_as(key, "Owner Person", "[to user] Fixed in 2.1")

    assert link.id and standin.issues[key].remote_links[0]["object"]["title"] == "SD-000123"
    assert [c.body for c in jira.comments(key)] == ["Shared note from the agent", "[to user] Fixed in 2.1"]
    assert comment.id != owners["id"]


def test_a_remote_link_with_a_global_id_is_updated_not_duplicated(server_standin):
    jira = client(server_standin)
    key = jira.create_issue(fields=FIELDS).key
    target = {"url": "https://desk.example.org/t/SD-000123", "title": "SD-000123"}

    with pytest.warns(Warning, match="applicationlinks"):  # non-admins may not list them: 403, then on
        first = jira.add_remote_link(key, target, globalId="supportdesk:ticket:SD-000123")
    with pytest.warns(Warning, match="applicationlinks"):
        again = jira.add_remote_link(key, {**target, "title": "SD-000123 (resolved)"},
                                     globalId="supportdesk:ticket:SD-000123")

    assert first.id == again.id
    assert [link["object"]["title"] for link in server_standin.issues[key].remote_links] == ["SD-000123 (resolved)"]
    assert server_standin.calls[("GET", "/rest/applinks/latest/listApplicationlinks")] == 2


def test_an_unknown_project_or_issue_type_is_a_400_configuration_error(server_standin):
    jira = client(server_standin)

    for fields in ({**FIELDS, "project": {"key": "NOPE"}}, {**FIELDS, "issuetype": {"name": "Epic"}}):
        with pytest.raises(JIRAError) as refused:
            jira.create_issue(fields=fields)
        assert refused.value.status_code == 400
    assert server_standin.issues_created == 0 and server_standin.create_calls == 2


def test_cloud_basic_auth_and_data_center_bearer_auth(server_standin):
    server_standin.require_auth(basic=("bot@example.org", "api-token"), bearer="pat-123")

    client(server_standin).create_issue(fields=FIELDS)
    client(server_standin, token_auth="pat-123").create_issue(fields=FIELDS)
    with pytest.raises(JIRAError) as refused:
        client(server_standin, basic_auth=("bot@example.org", "wrong"))

    assert refused.value.status_code == 401
    assert server_standin.issues_created == 2
    assert {("basic", "bot@example.org:api-token"), ("bearer", "pat-123")} <= server_standin.auth_seen


def test_503_with_retry_after_is_retried_by_the_library(server_standin):
    jira = client(server_standin, max_retries=2)
    server_standin.fail_next(1, 503, retry_after=1, path_contains="/rest/api/2/issue")

    started = time.monotonic()
    issue = jira.create_issue(fields=FIELDS)

    assert issue.key == "SUP-1" and server_standin.create_calls == 2
    assert 0.4 < time.monotonic() - started < 5  # slept min(1, 2 × 1) × U(0.5, 1)


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, None), (429, 1)])
def test_500_and_503_without_retry_after_are_not_retried_429_is(server_standin, status, retry_after):
    jira = client(server_standin, max_retries=1)
    server_standin.fail_next(2, status, retry_after=retry_after, path_contains="/rest/api/2/issue")

    with pytest.raises(JIRAError) as failed:
        jira.create_issue(fields=FIELDS)

    assert failed.value.status_code == status
    assert server_standin.create_calls == (2 if status == 429 else 1)
    assert server_standin.issues_created == 0


def test_a_lost_create_response_is_a_connection_error_while_the_issue_exists(standin):
    jira = client(standin)
    standin.lose_next_create_response()

    with pytest.raises(requests.ConnectionError):
        jira.create_issue(fields=FIELDS)

    assert [hit.key for hit in jira.search_issues('labels = "supportdesk-SD-000123"')] == ["SUP-1"]
    assert jira.create_issue(fields={**FIELDS, "labels": ["other"]}).key == "SUP-2"


def test_the_library_itself_re_posts_a_create_whose_response_was_lost(server_standin):
    jira = client(server_standin, max_retries=1)  # waits min(1, 10 × 2) × U(0.5, 1) before the re-POST
    server_standin.lose_next_create_response()

    jira.create_issue(fields=FIELDS)

    assert server_standin.issues_created == 2  # a duplicate: creates must run with max_retries=0


def test_cloud_search_can_lag_behind_a_create_until_reconciled():
    with JiraStandIn(deployment="Cloud") as standin:
        jira = client(standin)
        standin.freeze_search_index()
        issue = jira.create_issue(fields=FIELDS)
        jql = 'labels = "supportdesk-SD-000123"'

        assert jira.search_issues(jql) == []
        assert [hit.key for hit in jira.enhanced_search_issues(jql, reconcileIssues=[int(issue.id)])] == ["SUP-1"]
        standin.thaw_search_index()
        assert [hit.key for hit in jira.search_issues(jql)] == ["SUP-1"]


def test_a_slow_answer_times_out_on_the_client(server_standin):
    jira = JIRA(server=server_standin.url, timeout=(3.05, 0.3), max_retries=0)
    server_standin.delay(0.6, path_contains="/rest/api/2/issue/")
    key = jira.create_issue(fields=FIELDS, prefetch=False).key

    with pytest.raises(requests.ReadTimeout):
        jira.issue(key)


def test_a_seeded_failure_ratio_fails_the_same_requests_each_run():
    def run():
        with JiraStandIn() as standin:
            standin.fail_ratio(0.3, seed=7, statuses=(500, 503))
            session = requests.Session()
            return [session.get(f"{standin.url}/rest/api/2/serverInfo", timeout=5).status_code
                    for _ in range(40)]

    first = run()
    assert first == run()
    assert 4 <= sum(code != 200 for code in first) <= 20


def test_lost_answers_can_be_part_of_a_failure_ratio(server_standin):
    jira = client(server_standin)
    server_standin.fail_ratio(0.5, seed=3, statuses=(LOST,), path_contains="/rest/api/2/issue")
    outcomes = []
    for _ in range(20):
        try:
            jira.create_issue(fields=FIELDS, prefetch=False)
            outcomes.append("answered")
        except requests.ConnectionError:
            outcomes.append("lost")

    assert server_standin.issues_created == 20 and 0 < outcomes.count("lost") < 20


def test_four_concurrent_clients_create_two_hundred_distinct_issues(server_standin):
    clients = [client(server_standin) for _ in range(4)]

    def create(worker: int) -> list[str]:
        return [clients[worker].create_issue(fields={**FIELDS, "labels": [f"w{worker}-{n}"]},
                                             prefetch=False).key for n in range(50)]

    with ThreadPoolExecutor(4) as pool:
        keys = [key for batch in pool.map(create, range(4)) for key in batch]

    assert len(set(keys)) == 200 and server_standin.issues_created == 200


def test_webhook_payloads_carry_what_jira_cloud_sends(server_standin):
    key = client(server_standin).create_issue(fields=FIELDS).key
    change = server_standin.set_status(key, "Done", "done")
    label = server_standin.add_label(key, "not-our-extension")
    comment = server_standin.add_comment_as(key, "Owner Person", "[to user] Done")

    updated = server_standin.webhook_payload("jira:issue_updated", key, changelog_items=[change, label])
    commented = server_standin.webhook_payload("comment_created", key, comment=comment)

    assert updated["webhookEvent"] == "jira:issue_updated" and updated["user"]["accountId"]
    assert updated["issue"]["fields"]["status"]["statusCategory"]["key"] == "done"
    assert updated["changelog"]["items"][0]["toString"] == "Done"
    assert "not-our-extension" in updated["issue"]["fields"]["labels"]
    assert commented["comment"]["body"] == "[to user] Done" and commented["issue"]["key"] == key
    json.dumps(updated)  # a body that can be posted as is


def test_a_signed_delivery_verifies_with_the_owners_secret(server_standin):
    key = client(server_standin).create_issue(fields=FIELDS).key
    change = server_standin.set_status(key, "In Progress", "indeterminate")
    body = server_standin.webhook_payload("jira:issue_updated", key, changelog_items=[change])

    raw, headers = standin_webhooks.signed(body, "s3cret", delivery_id="d-1")

    expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature"], expected)
    assert json.loads(raw)["issue"]["fields"]["status"]["statusCategory"]["key"] == "indeterminate"
    assert headers["X-Atlassian-Webhook-Identifier"] == "d-1"


def test_it_runs_as_a_process_until_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "apps.jira_sync.tests.standin", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        jira = JIRA(server=url, basic_auth=("bot@example.org", "t"), timeout=(3.05, 10), max_retries=0)
        assert jira.create_issue(fields=FIELDS).key == "SUP-1"
    finally:
        process.send_signal(signal.SIGTERM)
        summary = process.communicate(timeout=10)[0]
    assert process.returncode == 0
    assert json.loads(summary)["issues_created"] == 1

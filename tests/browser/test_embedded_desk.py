"""The embedded desk as `make run` starts it without PostgreSQL and Redis: one process on SQLite.

A newcomer's first look: an email sent to the SMTP listener and a chat from the demo page
both reach the agent's console live, with nothing but the demo data behind them.
"""

import os
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from supportdesk import launcher
from tests.browser.conftest import ROOT, chat_panel_ready, free_port
from tests.browser.test_chat_widget import PANEL, agent_console, visitor_asks


def manage(*args: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


# The server runs on its own SQLite file whichever database the suite uses: once is enough.
pytestmark = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="runs in the embedded pass of make test")


@pytest.fixture
def embedded_desk(tmp_path):
    """Migrated, seeded and served as the launcher does it with no Redis: SQLite, the in-memory layer."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "EMBEDDED")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'desk.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"),
               DEBUG="1")
    manage("migrate", "--no-input", "-v", "0", env=env)
    seeded = manage("seed_demo", env=env)
    assert "demo mode" in seeded.lower()     # chat is open whatever the day: the test does not depend on it
    port, smtp_port = free_port(), free_port()
    log = (tmp_path / "desk.log").open("wb")
    process = launcher.start_embedded(host="127.0.0.1", port=port, smtp_port=smtp_port,
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", smtp_port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "desk.log").read_text()[-3000:]
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("the embedded desk did not start: " + (tmp_path / "desk.log").read_text()[-3000:])
    yield {"url": f"http://127.0.0.1:{port}", "smtp_port": smtp_port, "seeded": seeded,
           "log": tmp_path / "desk.log"}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def send_mail(port: int, *, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"], message["To"] = "Ada Lind <ada@example.org>", "support-eu@example.com"
    message["Subject"], message["Message-ID"] = subject, "<embedded-1@example.org>"
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def test_mail_and_chat_reach_the_console_live_on_the_embedded_desk(embedded_desk, browser, artifacts):
    base = embedded_desk["url"]
    agent = agent_console(browser, base, password="supportdesk")
    agent.wait_for_function("document.getElementById('presence').value === 'online'")

    # Mail: stored by the listener inside the server process, filed, and pushed to the open console.
    send_mail(embedded_desk["smtp_port"], subject="Skrivaren skriver inte ut",
              body="Hej! Min skrivare skriver inte ut något alls sedan i går. Vad ska jag göra?")
    row = agent.wait_for_selector("#queue tr:has-text('Skrivaren skriver inte ut')", timeout=10_000)
    assert row.query_selector("td.status").inner_text() == "Nytt"

    # Chat, both ways, on SQLite: the visitor's line reaches the agent, the answer reaches the visitor.
    visitor = visitor_asks(browser, base)
    visitor.wait_for_selector(f"{PANEL} #sd-composer", timeout=10_000)
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    chat_panel_ready(agent)
    visitor.fill(f"{PANEL} #sd-composer textarea", "Hej! Programmet startar inte.")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    agent.wait_for_selector("#thread li.msg[data-seq='1']:has-text('Programmet startar inte')", timeout=10_000)
    agent.fill("#reply-body", "Hej Ada! Vilken version har du?")
    agent.press("#reply-body", "Enter")
    visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='2']", timeout=10_000)
    assert "Vilken version" in visitor.inner_text(f"{PANEL} li.msg.agent[data-seq='2']")
    visitor.wait_for_selector(f"{PANEL} li.msg.visitor[data-seq='1'][data-state='sent'], "
                              f"{PANEL} li.msg.visitor[data-seq='1'][data-state='read']")
    agent.screenshot(path=str(artifacts / "embedded-console-chat.png"), full_page=True)

    # After a reload the transcript is the ticket's: both lines, in order, from the database.
    agent.reload()
    agent.wait_for_selector("#thread li.msg.outbound")
    lines = agent.eval_on_selector_all("#thread li.msg .body", "els => els.map(e => e.textContent)")
    assert lines == ["Hej! Programmet startar inte.", "Hej Ada! Vilken version har du?"]
    log = embedded_desk["log"].read_text()
    assert "Traceback" not in log
    # Readable at the default level: no line per request, static file or socket.
    assert "WSCONNECT" not in log and "GET /static/" not in log and "HTTP GET" not in log

"""A local Twilio REST stand-in: the call updates and recording downloads the desk makes.

The real ``twilio`` client talks to it over HTTP (``TWILIO_API_BASE_URL``); it records each
request with its form and credentials, and answers the next ones with injected faults.

    with TwilioStandIn() as twilio:
        twilio.fail_next(503, retry_after=2)
"""

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

RECORDING_BYTES = b"ID3\x03\x00\x00\x00\x00\x00\x00fake-mp3-frames"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict
    auth: tuple[str, str] | None


@dataclass
class TwilioStandIn:
    requests: list[Recorded] = field(default_factory=list)
    faults: list[tuple[int, dict]] = field(default_factory=list)

    def __enter__(self) -> "TwilioStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self, form: dict) -> None:
                auth = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                    auth = (user, password)
                standin.requests.append(Recorded(self.command, self.path, form, auth))

            def _answer(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _fault(self) -> bool:
                if not standin.faults:
                    return False
                status, headers = standin.faults.pop(0)
                body = json.dumps({"code": 20500 if status >= 500 else 20404, "message": "injected",
                                   "status": status}).encode()
                self._answer(status, body, "application/json", headers)
                return True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                self._record(form)
                if self._fault():
                    return
                sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
                body = json.dumps({"sid": sid, "status": "in-progress", "account_sid": self.path.split("/")[3]})
                self._answer(200, body.encode(), "application/json")

            def do_GET(self):
                self._record({})
                if self._fault():
                    return
                self._answer(200, RECORDING_BYTES, "audio/mpeg")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def fail_next(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.faults.extend([(status, headers)] * times)

    def call_updates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and "/Calls/" in r.path]

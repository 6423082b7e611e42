"""Fuzzing the parser: whatever bytes arrive, it returns clean text or says the mail is unparseable."""

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.mail.models import InboundEmail
from apps.mail.parsing import ParsedEmail, UnparseableEmail, parse_email
from apps.mail.tests.conftest import ingest

LABELS = ["utf-8", "us-ascii", "iso-8859-1", "iso-2022-jp", "shift_jis", "euc-jp", "gb2312", "big5", "euc-kr",
          "utf-7", "utf-16", "koi8-r", "windows-1252", "x-unknown", "", "utf-8*sv", "_iso-2022-jp$esc", "3d"]
CTES = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"]
TYPES = ["text/plain", "text/html", "application/octet-stream", "image/png", "message/rfc822",
         "message/delivery-status", "multipart/mixed", "text/rfc822-headers", "bogus", "text/plain; format=flowed"]
header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


def assert_clean(parsed: ParsedEmail) -> None:
    for value in (parsed.subject, parsed.text, parsed.html, parsed.from_address, parsed.from_name,
                  parsed.message_id, *parsed.references, *parsed.recipients,
                  *[a.filename for a in parsed.attachments]):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogates: PostgreSQL would refuse them
    assert parsed.date is None or parsed.date.tzinfo is not None


def parse_or_unparseable(raw: bytes) -> None:
    try:
        parsed = parse_email(raw)
    except UnparseableEmail:
        return
    assert_clean(parsed)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise_anything_but_unparseable(raw):
    parse_or_unparseable(raw)


@st.composite
def messages(draw) -> bytes:
    lines = [
        f"From: {draw(header_text)} <{draw(st.sampled_from(['a@example.org', 'broken', '', '<>']))}>",
        f"Subject: {draw(header_text)}",
        f"Message-ID: {draw(st.sampled_from(['<a@b>', '', 'no-brackets', '<' + 'x' * 1200 + '@y>']))}",
        f"References: {draw(st.text(max_size=60))}",
        "Date: " + draw(st.sampled_from(["Tue, 1 Jul 2003 10:52:37 +0200", "yesterday", "",
                                         "Mon, 1 Jan 0001 00:00:00"])),
    ]
    encoded_word = "=?{}?{}?{}?=".format(draw(st.sampled_from(LABELS)), draw(st.sampled_from("BQbq")),
                                           base64.b64encode(draw(st.binary(max_size=30))).decode())
    lines.append(f"X-Encoded: {encoded_word} {encoded_word}")
    head = "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n" + draw(st.binary(max_size=40)) + b"\r\n"
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(
            f"Content-Type: {draw(st.sampled_from(TYPES))}; charset=\"{draw(st.sampled_from(LABELS))}\"\r\n"
            f"Content-Transfer-Encoding: {draw(st.sampled_from(CTES))}\r\n"
            f"Content-Disposition: {draw(st.sampled_from(['attachment', 'inline', 'bogus']))}; "
            f"filename*={draw(st.sampled_from(LABELS))}''{draw(st.text(max_size=20))}\r\n\r\n".encode(
                "utf-8", "surrogatepass") + draw(st.binary(max_size=300)))
    if parts:
        body = b"".join(b"--B\r\n" + part + b"\r\n" for part in parts) + draw(st.sampled_from([b"--B--\r\n", b""]))
        head += b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n"
    else:
        body = draw(st.binary(max_size=300))
        head += f"Content-Type: text/plain; charset={draw(st.sampled_from(LABELS))}\r\n".encode()
    return head + b"\r\n" + body


@settings(max_examples=300, deadline=None)
@given(messages())
def test_mail_shaped_garbage_parses_to_clean_text(raw):
    parse_or_unparseable(raw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=messages())
def test_every_fuzzed_message_is_filed_and_nothing_escapes(mailboxes, raw):
    inbound = ingest(raw)
    assert inbound.processed_at is not None
    assert inbound.outcome != InboundEmail.Outcome.PENDING
    assert inbound.ticket_id or inbound.outcome == InboundEmail.Outcome.REVIEW

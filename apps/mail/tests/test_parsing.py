"""The parser: every charset of the desk's six languages (and of the wild), headers, HTML, attachments."""

import base64
import quopri

import pytest

from apps.mail.charsets import decode_bytes
from apps.mail.parsing import UnparseableEmail, parse_email


def raw_message(body: bytes, *, charset: str, subject: str = "Test", cte: str = "8bit",
                extra_headers: str = "") -> bytes:
    if cte == "base64":
        body = base64.encodebytes(body)
    elif cte == "quoted-printable":
        body = quopri.encodestring(body)
    head = (f"From: User <user@example.org>\r\nTo: support-eu@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <m@example.org>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n{extra_headers}\r\n")
    return head.encode("ascii") + body


def encoded_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


# (language, text, charset label, codec used by real senders)
CHARSET_CASES = [
    ("ja", "アプリが起動しません。ご確認ください。", "ISO-2022-JP", "iso2022_jp"),
    ("ja", "アプリが起動しません。ご確認ください。", "Shift_JIS", "cp932"),
    ("ja", "アプリが起動しません。ご確認ください。", "EUC-JP", "euc_jp"),
    ("zh-hans", "应用程序无法启动，请帮忙检查。", "GB2312", "gb2312"),
    ("zh-hans", "应用程序无法启动，请帮忙检查。镕", "GB2312", "gbk"),  # GBK bytes labelled GB2312
    ("zh-hans", "应用程序无法启动，请帮忙检查。", "GB18030", "gb18030"),
    ("zh-hans", "應用程式無法啟動，請幫忙檢查。", "Big5", "big5"),
    ("ko", "애플리케이션이 시작되지 않습니다.", "EUC-KR", "euc_kr"),
    ("ko", "애플리케이션이 시작되지 않습니다.", "ks_c_5601-1987", "cp949"),
    ("sv", "Appen kraschar när jag öppnar ritningen. Hälsningar, Åsa", "ISO-8859-1", "latin-1"),
    ("de", "Die Anwendung stürzt ab - Grüße, Jürgen €", "ISO-8859-15", "iso8859-15"),
    ("de", "Die Anwendung stürzt ab – Grüße, Jürgen", "windows-1252", "cp1252"),
    ("es", "La aplicación se bloquea al abrir el diseño. ¿Ayuda?", "windows-1252", "cp1252"),
    ("ru", "Приложение не запускается", "KOI8-R", "koi8_r"),
    ("ru", "Приложение не запускается", "windows-1251", "cp1251"),
    ("pl", "Aplikacja się zawiesza, proszę o pomoc", "ISO-8859-2", "iso8859-2"),
    ("en", "Hello + welcome — ✓", "UTF-7", "utf-7"),
    ("en", "Hello + welcome — ✓", "unicode-1-1-utf-7", "utf-7"),
]


@pytest.mark.parametrize(("language", "text", "label", "codec"), CHARSET_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CHARSET_CASES])
@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])
def test_bodies_and_encoded_subjects_decode_in_every_charset(language, text, label, codec, cte):
    subject = encoded_word(text[:12], codec if codec != "utf-7" else "utf-8")
    parsed = parse_email(raw_message(text.encode(codec), charset=label, cte=cte, subject=subject))

    assert parsed.text == text
    assert parsed.subject == text[:12]


def test_utf8_labelled_us_ascii_is_read_as_utf8():
    parsed = parse_email(raw_message("Grüße aus Köln".encode(), charset="us-ascii"))
    assert parsed.text == "Grüße aus Köln"


def test_utf8_labelled_latin1_is_read_as_utf8():
    parsed = parse_email(raw_message("Hälsningar från Malmö".encode(), charset="iso-8859-1"))
    assert parsed.text == "Hälsningar från Malmö"


@pytest.mark.parametrize("label", ["x-unknown", "invalid-charset", "uft-8", '"3dutf-8"', ""])
def test_unknown_and_broken_labels_fall_back_without_losing_text(label):
    parsed = parse_email(raw_message("Grüße — ok".encode(), charset=label or '""'))
    assert parsed.text == "Grüße — ok"


def test_unlabelled_iso_2022_jp_is_recognised_by_its_escapes():
    assert decode_bytes("こんにちは".encode("iso2022_jp"), "x-unknown") == "こんにちは"


def test_undecodable_bytes_become_replacement_characters_never_an_error():
    text = decode_bytes("Grüße\x00 från Malmö ".encode() * 20 + b"\x80\x81", "utf-8")
    assert "\x00" not in text
    assert text.startswith("Grüße från Malmö")
    assert decode_bytes(b"\x80\x81\xfe\xff" * 50, "x-unknown")  # something, never an error


def test_raw_8bit_utf8_headers_are_decoded():
    raw = ("From: Åsa Öberg <asa@example.org>\r\nTo: support-eu@example.com\r\nSubject: Fråga om licens\r\n"
           "Message-ID: <h8@example.org>\r\n\r\nHej").encode()
    parsed = parse_email(raw)
    assert parsed.subject == "Fråga om licens"
    assert parsed.from_name == "Åsa Öberg"
    assert parsed.from_address == "asa@example.org"


def test_rfc_2047_words_in_several_charsets_join_without_spaces():
    subject = f"{encoded_word('日本語の', 'iso2022_jp')} {encoded_word('件名', 'shift_jis')}"
    parsed = parse_email(raw_message(b"x", charset="utf-8", subject=subject))
    assert parsed.subject == "日本語の件名"


def test_rfc_2047_word_with_an_unknown_charset_does_not_crash():
    parsed = parse_email(raw_message(b"x", charset="utf-8", subject="=?x-bogus?Q?Gr=C3=BC=C3=9Fe?="))
    assert parsed.subject == "Grüße"


def multipart(parts: list[str], *, subtype: str = "mixed", extra: str = "") -> bytes:
    body = "".join(f"--XYZ\r\n{part}\r\n" for part in parts) + "--XYZ--\r\n"
    return (f"From: a@example.org\r\nTo: support-jp@example.com\r\nSubject: parts\r\nMessage-ID: <p@example.org>\r\n"
            f"MIME-Version: 1.0\r\n{extra}Content-Type: multipart/{subtype}; boundary=\"XYZ\"\r\n\r\n{body}").encode()


def test_rfc_2231_filenames_are_decoded():
    part = ("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf\r\n\r\n"
            + base64.b64encode(b"%PDF-1.4").decode())
    parsed = parse_email(multipart(["Content-Type: text/plain\r\n\r\nsee attached", part]))
    assert [a.filename for a in parsed.attachments] == ["請求書.pdf"]
    assert parsed.attachments[0].data == b"%PDF-1.4"


def test_rfc_2047_encoded_filenames_are_decoded_too():
    name = encoded_word("Ritning å.dwg", "iso-8859-1")
    part = (f'Content-Type: application/octet-stream; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n\r\n' + base64.b64encode(b"DWG").decode())
    parsed = parse_email(multipart(["Content-Type: text/plain\r\n\r\nsee attached", part]))
    assert parsed.attachments[0].filename == "Ritning å.dwg"


def test_html_only_mail_gives_readable_text_and_sanitised_html():
    html = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
            "<p>Hej,</p><p>appen <b>kraschar</b>.<br>Mvh Ada</p>"
            "<img src=x onerror=alert(1)><a href='javascript:alert(1)'>klick</a></body></html>")
    raw = ("From: a@example.org\r\nTo: support-eu@example.com\r\nSubject: html\r\nMessage-ID: <h@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html).encode()
    parsed = parse_email(raw)

    assert parsed.text.splitlines()[:3] == ["Hej,", "", "appen kraschar."]
    assert "alert" not in parsed.text and "color" not in parsed.text
    assert "<script" not in parsed.html and "onerror" not in parsed.html and "javascript:" not in parsed.html
    assert "<b>kraschar</b>" in parsed.html


def test_alternative_prefers_the_plain_part_and_keeps_the_html():
    parsed = parse_email(multipart(["Content-Type: text/plain\r\n\r\nplain text",
                                    "Content-Type: text/html\r\n\r\n<p>html text</p>"], subtype="alternative"))
    assert parsed.text == "plain text"
    assert "<p>html text</p>" in parsed.html


def test_inline_images_and_winmail_dat_are_kept_as_attachments():
    image = ("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <logo@x>\r\n"
             "Content-Disposition: inline\r\n\r\n" + base64.b64encode(b"\x89PNG\r\n\x1a\nDATA").decode())
    tnef = ('Content-Type: application/ms-tnef; name="winmail.dat"\r\nContent-Transfer-Encoding: base64\r\n'
            'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n'
            + base64.b64encode(b"\x78\x9f\x3e\x22TNEF").decode())
    parsed = parse_email(multipart(["Content-Type: text/plain\r\n\r\nsee logo", image, tnef]))

    names = {a.filename: a for a in parsed.attachments}
    assert names["winmail.dat"].content_type == "application/ms-tnef"
    assert names["winmail.dat"].data == b"\x78\x9f\x3e\x22TNEF"
    inline = next(a for a in parsed.attachments if a.content_type == "image/png")
    assert inline.inline and inline.content_id == "logo@x"


def test_a_forwarded_message_is_kept_as_an_eml_attachment_not_mixed_into_the_body():
    forwarded = ("Content-Type: message/rfc822\r\n\r\nFrom: x@example.net\r\nSubject: original\r\n"
                 "Message-ID: <orig@example.net>\r\n\r\nthe original body")
    parsed = parse_email(multipart(["Content-Type: text/plain\r\n\r\nFYI", forwarded]))
    assert parsed.text == "FYI"
    attachment = parsed.attachments[0]
    assert attachment.content_type == "message/rfc822"
    assert b"the original body" in attachment.data


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02binary", b"just some words without headers\n"])
def test_bytes_that_are_not_mail_raise_unparseable(raw):
    with pytest.raises(UnparseableEmail):
        parse_email(raw)


def test_threading_ids_are_collected_in_order():
    raw = (b"From: a@example.org\r\nSubject: Re: x\r\nMessage-ID: <3@x>\r\nIn-Reply-To: <2@x>\r\n"
           b"References: <1@x>\r\n <2@x>\r\n\r\nbody")
    parsed = parse_email(raw)
    assert parsed.thread_ids == ["<2@x>", "<1@x>"]


def test_content_language_is_read():
    parsed = parse_email(raw_message(b"Hallo", charset="utf-8", extra_headers="Content-Language: de-DE\r\n"))
    assert parsed.content_language == "de-DE"

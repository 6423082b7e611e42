"""Signatures over the public URL Twilio called, and bad input that must never break a call."""

import pytest
from twilio.request_validator import RequestValidator

from apps.voice import calls
from apps.voice.models import Call
from apps.voice.tests.conftest import PUBLIC, TOKEN, Caller, said

pytestmark = pytest.mark.django_db


def test_unsigned_and_wrongly_signed_requests_are_refused_and_change_nothing(caller, regions, queues):
    assert caller.post("/voice/incoming", signature="").status_code == 403
    assert caller.post("/voice/incoming", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    # Signed for other parameters: a replay with a changed caller number.
    data = {"CallSid": caller.sid, "From": "+15550000000"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/voice/incoming", data)
    tampered = caller.client.post("/voice/incoming", {**data, "From": "+46700000000"},
                                  HTTP_X_TWILIO_SIGNATURE=signature)
    assert tampered.status_code == 403
    # Signed with another account's token.
    other = RequestValidator("not-our-token").compute_signature(PUBLIC + "/voice/incoming", data)
    assert caller.client.post("/voice/incoming", data, HTTP_X_TWILIO_SIGNATURE=other).status_code == 403
    assert Call.objects.count() == 0


@pytest.mark.parametrize("public, path, signed_url", [
    # Behind a TLS proxy: Django sees http://testserver, Twilio signed the https address.
    ("https://desk.example.com", "/voice/incoming", "https://desk.example.com/voice/incoming"),
    # With and without the trailing slash, each signed as called; neither is redirected.
    ("https://desk.example.com", "/voice/incoming/", "https://desk.example.com/voice/incoming/"),
    # An explicit standard port in the configured address; Twilio signs either form.
    ("https://desk.example.com:443", "/voice/incoming", "https://desk.example.com/voice/incoming"),
    ("https://desk.example.com", "/voice/incoming", "https://desk.example.com:443/voice/incoming"),
    # Plain http on a non-standard port (a tunnel in development).
    ("http://desk.example.com:8080", "/voice/incoming", "http://desk.example.com:8080/voice/incoming"),
])
def test_signature_over_the_public_url(client, settings, regions, queues, public, path, signed_url):
    settings.PUBLIC_BASE_URL = public
    data = {"CallSid": "CA" + "b" * 32, "From": "+46701234567", "To": "+46855500001"}
    signature = RequestValidator(TOKEN).compute_signature(signed_url, data)
    response = client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")


def test_a_url_signed_for_the_other_slash_is_refused(client, regions, queues):
    data = {"CallSid": "CA" + "c" * 32}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/voice/incoming/", data)
    assert client.post("/voice/incoming", data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


def test_the_phone_line_is_off_without_credentials(caller, settings):
    settings.TWILIO_ENABLED = False
    assert caller.post("/voice/incoming").status_code == 404
    assert caller.client.get("/voice/token").status_code in (302, 404)


def test_get_is_not_a_webhook(client):
    assert client.get("/voice/incoming").status_code == 405


def test_wrong_digits_and_garbage_speech_reprompt_then_english(caller, swedish_agent, regions, queues):
    caller.twiml("/voice/incoming")
    again = caller.twiml("/voice/language", Digits=7)
    assert "did not get that" in said(again) and again.find("Gather") is not None
    english = caller.twiml("/voice/language", SpeechResult="asdf qwerty", Confidence="0.2")
    # English after two misses: nobody serves English on the phone here, so a voicemail in English.
    assert english.find("Record") is not None
    assert Call.objects.get(sid=caller.sid).language == "en"


def test_speech_chooses_swedish(caller, swedish_agent, regions, queues):
    caller.twiml("/voice/incoming")
    assert caller.twiml("/voice/language", SpeechResult="Svenska tack", Confidence="0.9").find("Enqueue").text == \
        "support-sv"


def test_unknown_number_and_missing_parameters_are_safe(client, regions, queues, open_hours):
    stranger = Caller(client, sid="CA" + "d" * 32, number="", line="+19999999999")
    menu = stranger.twiml("/voice/incoming")          # a number the desk does not know: still a menu
    assert menu.find("Gather") is not None and Call.objects.get(sid=stranger.sid).region is None
    no_sid = Caller(client, sid="")
    assert no_sid.twiml("/voice/incoming").find("Record") is not None      # apology and voicemail
    assert no_sid.twiml("/voice/wait").find("Play") is not None


def test_a_failure_inside_a_webhook_answers_an_apology_not_an_error(caller, swedish_agent, regions, queues,
                                                                      monkeypatch):
    caller.twiml("/voice/incoming")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(calls, "enqueue", broken)
    apology = caller.twiml("/voice/language", Digits=2)
    assert "something went wrong" in said(apology) and apology.find("Record").get("action") == "/voice/voicemail"
    # The call row survived the failed step (its own transaction rolled back, not the earlier ones).
    assert Call.objects.get(sid=caller.sid).state == Call.State.MENU

"""Signatures over the public URL Twilio called, and bad input that must never break a call."""

import pytest
from twilio.request_validator import RequestValidator

from apps.voice import calls, steps
from apps.voice.jobs import apply_steps_job
from apps.voice.models import Call, CallStep
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
    # The menu asks again at a URL that counts the miss (the answer reads no stored state).
    assert again.find("Gather").get("action") == again.find("Redirect").text == "/voice/language?misses=1"
    assert Call.objects.get(sid=caller.sid).menu_misses == 1
    english = caller.twiml("/voice/language?misses=1", SpeechResult="asdf qwerty", Confidence="0.2")
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
    assert no_sid.twiml("/voice/wait?language=xx").find("Play") is not None       # a language it does not know


def test_a_failure_inside_a_webhook_answers_an_apology_not_an_error(caller, swedish_agent, regions, queues,
                                                                      monkeypatch):
    caller.twiml("/voice/incoming")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(calls, "nobody_can_answer", broken)
    apology = caller.twiml("/voice/language", Digits=2)
    assert "something went wrong" in said(apology) and apology.find("Record").get("action") == "/voice/voicemail"
    # The call row survived the failed step (nothing of it was stored; the earlier step was).
    assert Call.objects.get(sid=caller.sid).state == Call.State.MENU
    assert not CallStep.objects.filter(step="language").exists()
    monkeypatch.setattr(steps, "catch_up", broken)        # inside a webhook that locks the call
    assert "something went wrong" in said(caller.twiml("/voice/dial-result", DialCallStatus="no-answer"))


def test_a_step_the_worker_cannot_apply_is_retried_and_holds_back_the_calls_later_steps(
        caller, swedish_agent, regions, queues, monkeypatch):
    caller.twiml("/voice/incoming")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(calls, "enqueue_many", broken)
        assert caller.twiml("/voice/language", Digits=2).find("Enqueue") is not None   # the caller is queued
        caller.twiml("/voice/status", CallStatus="completed", CallDuration=8, SequenceNumber=3)
        failed = CallStep.objects.get(step="language")
        assert failed.applied_at is None and failed.attempts >= 1 and "database went away" in failed.error
        # The status waits behind it, so the call's steps are applied in their order.
        assert CallStep.objects.get(step="status").applied_at is None
        assert Call.objects.get(sid=caller.sid).twilio_status == ""
    apply_steps_job()            # the schedule's sweep retries it: now it applies, then the status
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.ABANDONED and call.twilio_status == "completed" and call.ticket is not None
    assert not CallStep.objects.filter(applied_at__isnull=True).exists()


def test_a_step_that_always_fails_is_given_up_after_five_tries_and_the_call_goes_on(
        caller, swedish_agent, regions, queues, monkeypatch):
    caller.twiml("/voice/incoming")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(calls, "enqueue_many", broken)
    caller.twiml("/voice/language", Digits=2, apply=False)
    caller.twiml("/voice/status", CallStatus="completed", CallDuration=8, SequenceNumber=3, apply=False)
    for _sweep in range(steps.MAX_ATTEMPTS):
        apply_steps_job()
    given_up = CallStep.objects.get(step="language")
    assert given_up.attempts == steps.MAX_ATTEMPTS and given_up.applied_at is not None and "a bug" in given_up.error
    assert Call.objects.get(sid=caller.sid).twilio_status == "completed"


def test_a_failing_later_step_keeps_the_steps_before_it_and_the_other_calls(
        client, swedish_agent, regions, queues, monkeypatch):
    """The worker applies a call's steps in one savepoint; when one fails, the others are not lost with it."""
    first, second = Caller(client, sid="CA" + "1" * 32), Caller(client, sid="CA" + "2" * 32, number="+46709999999")
    for caller in (first, second):
        caller.twiml("/voice/incoming", apply=False)
        caller.twiml("/voice/language", Digits=2, apply=False)
    first.twiml("/voice/status", CallStatus="completed", CallDuration=8, SequenceNumber=3, apply=False)

    def broken(call, params, *, now):
        raise RuntimeError("a bug in status")

    monkeypatch.setattr(calls, "record_status", broken)
    assert apply_steps_job() == 4
    status = CallStep.objects.get(step="status")
    assert status.applied_at is None and status.attempts == 1 and "a bug in status" in status.error
    assert set(Call.objects.values_list("state", flat=True)) == {Call.State.QUEUED}
    assert Call.objects.filter(ticket__isnull=False).count() == 2
    assert CallStep.objects.filter(applied_at__isnull=True).count() == 1


def test_a_rolled_back_step_leaves_nothing_on_its_call_and_the_steps_before_it_are_written(
        client, swedish_agent, regions, queues, monkeypatch):
    """The worker writes its batch's calls once, at the end: what a failed step changed in memory is undone,
    what the call's steps before it changed is written, and so is every other call of the batch."""
    first, second = Caller(client, sid="CA" + "1" * 32), Caller(client, sid="CA" + "2" * 32, number="+46709999999")
    for caller in (first, second):
        caller.twiml("/voice/incoming")
        caller.twiml("/voice/language", Digits=2)
    first.twiml("/voice/status", CallStatus="ringing", CallDuration=3, SequenceNumber=1, apply=False)
    first.twiml("/voice/voicemail", RecordingUrl="https://api.twilio.com/rec/RE1", RecordingSid="RE1",
                RecordingDuration=12, apply=False)
    second.twiml("/voice/status", CallStatus="completed", CallDuration=30, SequenceNumber=2, apply=False)

    def broken(call, params, *, now):
        call.recording_url, call.state = "https://example.com/not-kept", Call.State.BRIDGED
        raise RuntimeError("a bug in recordings")

    monkeypatch.setattr(calls, "store_recording", broken)
    assert apply_steps_job() == 2
    kept = Call.objects.get(sid=first.sid)
    assert (kept.twilio_status, kept.status_sequence, kept.duration_seconds) == ("ringing", 1, 3)
    assert kept.recording_url == "" and kept.state == Call.State.QUEUED
    assert CallStep.objects.get(step="voicemail").attempts == 1
    ended = Call.objects.get(sid=second.sid)
    assert (ended.twilio_status, ended.duration_seconds, ended.state) == ("completed", 30, Call.State.ABANDONED)
    assert [event.data["event"] for event in ended.ticket.events.filter(kind="call")] == ["queued", "abandoned",
                                                                                         "ended"]
    assert [event.data["event"] for event in kept.ticket.events.filter(kind="call")] == ["queued"]


def test_numbers_a_call_cannot_hold_and_nul_characters_are_dropped_not_fatal(caller, swedish_agent, regions,
                                                                               queues):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    caller.twiml("/voice/status", CallStatus="ring\x00ing", CallDuration=10 ** 12, SequenceNumber=-4)
    caller.twiml("/voice/queue-result", QueueResult="hangup", QueueTime="99999999999")
    call = Call.objects.get(sid=caller.sid)
    assert (call.twilio_status, call.duration_seconds, call.status_sequence) == ("ringing", None, -1)
    assert call.state == Call.State.ABANDONED and call.queue_seconds is None
    assert not CallStep.objects.filter(applied_at__isnull=True).exists()

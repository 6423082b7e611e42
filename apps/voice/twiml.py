"""What the caller hears: TwiML documents built with the twilio library, each prompt a translatable string.

Prompts are spoken in the caller's language (English or Swedish) with the configured voice;
before the caller has chosen, in both. URLs are the desk's own webhook paths, relative, so
Twilio calls back the host it called (and signs that URL).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from twilio.twiml.voice_response import VoiceResponse

LANGUAGES = ("en", "sv")
SPEECH_LOCALES = {"en": "en-US", "sv": "sv-SE"}
VOICEMAIL_MAX_SECONDS = 120
PATHS = {
    "language": "/voice/language", "wait": "/voice/wait", "queue_result": "/voice/queue-result",
    "voicemail": "/voice/voicemail", "transcription": "/voice/transcription", "dial_result": "/voice/dial-result",
}


def voice_for(language: str) -> str:
    return settings.VOICE_VOICE_SV if language == "sv" else settings.VOICE_VOICE_EN


def say(node, language: str, text: str) -> None:
    node.say(text, voice=voice_for(language), language=SPEECH_LOCALES.get(language, "en-US"))


def _in(language: str, message, **values) -> str:
    """A prompt (marked with ``gettext_lazy``) in the caller's language, not the request's."""
    with translation.override(language):
        return str(message) % values if values else str(message)


def language_menu(*, misses: int = 0) -> VoiceResponse:
    """"For English press 1 — för svenska, tryck 2": digits or speech; silence comes back to /voice/language.

    After a miss the menu asks again, and the URL it answers to counts the misses.
    """
    response = VoiceResponse()
    action = f"{PATHS['language']}?misses={misses}" if misses else PATHS["language"]
    gather = response.gather(input="dtmf speech", num_digits=1, timeout=5, speech_timeout="auto",
                             action=action, method="POST", language="en-US",
                             hints="English, Swedish, svenska, engelska")
    for language in LANGUAGES:
        if misses:
            say(gather, language, _in(language, gettext_lazy("Sorry, I did not get that.")))
        say(gather, language, _in(language, gettext_lazy("For English, press 1. For Swedish, press 2.")))
    response.redirect(action, method="POST")
    return response


def closed(*, next_opening: datetime | None, zone: str, mailbox: str) -> VoiceResponse:
    """Outside the region's phone hours: when it opens (local time), where to write, and voicemail."""
    response = VoiceResponse()
    gather = response.gather(input="dtmf", num_digits=1, timeout=6, action=PATHS["voicemail"], method="POST")
    for language in LANGUAGES:
        say(gather, language, _in(language, gettext_lazy("Thank you for calling. Our phone line is closed now.")))
        if next_opening is not None:
            say(gather, language, _in(language, gettext_lazy("We open again %(when)s."),
                                      when=spoken_time(next_opening, zone=zone, language=language)))
        if mailbox:
            at_sign = _in(language, pgettext_lazy("the @ of an email address", "at"))
            spoken = mailbox.replace("@", f" {at_sign} ")
            say(gather, language, _in(language, gettext_lazy("You can also email us at %(address)s."),
                                      address=spoken))
        say(gather, language, _in(language, gettext_lazy("To leave a message in English, press 1. "
                                            "To leave a message in Swedish, press 2.")))
    response.redirect(PATHS["voicemail"], method="POST")
    return response


def spoken_time(moment: datetime, *, zone: str, language: str) -> str:
    """A time as a person says it, in the region's zone: "Monday 7 December at 08:00"."""
    local = moment.astimezone(ZoneInfo(zone))
    with translation.override(language):
        day = formats.date_format(local, "l j F")
        return _("%(day)s at %(time)s") % {"day": day, "time": local.strftime("%H:%M")}


def enqueue(*, language: str) -> VoiceResponse:
    response = VoiceResponse()
    say(response, language, _in(language, gettext_lazy("Please hold, an agent will be with you shortly.")))
    # The hold music's URL says the language: each round of it is answered without reading the call.
    response.enqueue(f"support-{language}", action=f"{PATHS['queue_result']}?language={language}", method="POST",
                     wait_url=f"{PATHS['wait']}?language={language}", wait_url_method="POST")
    return response


def waiting(*, language: str, position: int | None, expected_seconds: int | None) -> VoiceResponse:
    """While queued: the caller's place and expected wait, then hold music (the document repeats)."""
    response = VoiceResponse()
    if position:
        say(response, language, _in(language, gettext_lazy("You are number %(position)d in the queue."),
                                     position=position))
    if expected_seconds:
        minutes = max(1, round(expected_seconds / 60))
        with translation.override(language):
            expected = ngettext("The expected wait is about %(minutes)d minute.",
                                "The expected wait is about %(minutes)d minutes.", minutes) % {"minutes": minutes}
        say(response, language, expected)
    response.play(settings.VOICE_HOLD_MUSIC_URL)
    return response


def waiting_long(*, language: str) -> VoiceResponse:
    """At the target with nobody free: voicemail, a callback, or keep waiting (silence keeps the place)."""
    response = VoiceResponse()
    gather = response.gather(input="dtmf", num_digits=1, timeout=5, action=f"{PATHS['wait']}?language={language}",
                             method="POST")
    say(gather, language, _in(language, gettext_lazy("Sorry to keep you waiting. To leave a voicemail, press 1. "
                                        "To be called back, press 2. Or stay on the line to keep your place.")))
    response.play(settings.VOICE_HOLD_MUSIC_URL)
    return response


def leave_queue() -> VoiceResponse:
    response = VoiceResponse()
    response.leave()
    return response


def voicemail(*, language: str, nobody: bool = False) -> VoiceResponse:
    """Record up to two minutes; English voicemail is transcribed by Twilio, Swedish is kept as audio."""
    response = VoiceResponse()
    if nobody:
        say(response, language, _in(language, gettext_lazy("Sorry, nobody can take your call right now.")))
    say(response, language, _in(language, gettext_lazy("Please leave your message and your name after the tone. "
                                          "Press the pound key when you are done.")))
    options = {"transcribe": True, "transcribe_callback": PATHS["transcription"]} if language == "en" else {}
    response.record(action=f"{PATHS['voicemail']}?language={language}", method="POST",
                    max_length=VOICEMAIL_MAX_SECONDS, finish_on_key="#", play_beep=True, **options)
    say(response, language, _in(language, gettext_lazy("We did not receive a message. Goodbye.")))
    response.hangup()
    return response


def goodbye(*, language: str, message: str) -> VoiceResponse:
    response = VoiceResponse()
    say(response, language, message)
    response.hangup()
    return response


def thanks_for_message(*, language: str) -> VoiceResponse:
    return goodbye(language=language,
                   message=_in(language, gettext_lazy("Thank you, we have your message. Goodbye.")))


def callback_promised(*, language: str, number: str) -> VoiceResponse:
    spoken = " ".join(number.lstrip("+")) if number else ""
    return goodbye(language=language, message=_in(
        language, gettext_lazy("Thank you. We will call you back at %(number)s. Goodbye."), number=spoken))


def bridge(*, language: str, client_identity: str = "", phone_number: str = "") -> VoiceResponse:
    """Connect the caller to the agent who accepted the call: their softphone, or their phone."""
    response = VoiceResponse()
    say(response, language, _in(language, gettext_lazy("Connecting you to an agent now.")))
    dial = response.dial(action=PATHS["dial_result"], method="POST", timeout=20, answer_on_bridge=True)
    if phone_number:
        dial.number(phone_number)
    else:
        dial.client(client_identity)
    return response


def apology() -> VoiceResponse:
    """Something failed inside the desk: apologise and take a message, with nothing that needs the desk."""
    response = VoiceResponse()
    for language in LANGUAGES:
        say(response, language, _in(language, gettext_lazy("Sorry, something went wrong on our side. "
                                              "Please leave a message after the tone.")))
    response.record(action=PATHS["voicemail"], method="POST", max_length=VOICEMAIL_MAX_SECONDS, finish_on_key="#")
    response.hangup()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()

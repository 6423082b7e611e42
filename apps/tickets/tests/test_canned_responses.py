"""Canned responses the manager writes: English required, other languages fall back to it."""

import pytest
from django.utils import translation

from apps.tickets import services
from apps.tickets.models import CannedResponse

pytestmark = pytest.mark.django_db


def test_a_language_left_empty_shows_the_english_text():
    response = services.save_canned_response(texts={"en": ("Thanks", "Thank you, {name}."),
                                                    "sv": ("Tack", "Tack, {name}."), "de": ("", "")})
    with translation.override("sv"):
        assert CannedResponse.objects.get().title == "Tack"
    with translation.override("de"):
        assert CannedResponse.objects.get().title == "Thanks"
        assert response.filled(name="Ada", agent="Sara", reference="X") == "Thank you, Ada."


def test_saving_in_another_active_language_keeps_english():
    with translation.override("ja"):
        response = services.save_canned_response(texts={"en": ("Thanks", "Thank you."),
                                                         "ja": ("ありがとう", "ありがとうございます。")})
    response.refresh_from_db()
    assert (response.title_en, response.title_ja) == ("Thanks", "ありがとう")


def test_an_edit_clears_a_removed_translation():
    response = services.save_canned_response(texts={"en": ("Thanks", "Thank you."), "es": ("Gracias", "Gracias.")})
    services.save_canned_response(texts={"en": ("Thanks", "Thank you."), "es": ("", "")}, response=response)
    response.refresh_from_db()
    assert response.title_es is None and CannedResponse.objects.count() == 1


@pytest.mark.parametrize("texts", [{"sv": ("Tack", "Tack.")}, {"en": ("Thanks", "")},
                                   {"en": ("Thanks", "Thank you."), "de": ("Danke", "")}])
def test_incomplete_texts_are_refused(texts):
    with pytest.raises(services.CannedResponseError):
        services.save_canned_response(texts=texts)
    assert not CannedResponse.objects.exists()


def test_a_response_is_deleted():
    response = services.save_canned_response(texts={"en": ("Thanks", "Thank you.")})
    services.delete_canned_response(response=response)
    assert not CannedResponse.objects.exists()

"""Codes as words in the viewer's language: the one helper every screen and export asks."""

from django.template import Context, Template
from django.utils import translation

from apps.tickets.labels import label, labels


def test_codes_become_words_in_the_active_language(db):
    with translation.override("sv"):
        assert label("channel", "chat") == "Chatt"
        assert label("language", "zh-hans") == "Förenklad kinesiska"
        assert label("status", "open") == "Öppet"
        assert label("target", "first_response") == "Första svar"       # registered by the SLA app
        assert label("presence", "away") == "Borta"                      # registered by routing
    with translation.override("de"):
        assert labels("channel")["voice"] == "Telefon"


def test_regions_and_extensions_are_named_from_their_rows(regions):
    assert labels("region", ["europe", "us"]) == {"europe": "Europe", "us": "United States"}
    assert label("region", "") == "—" and label("region", "mars") == "mars"     # no row: shown as it is


def test_the_template_filter_names_one_code_or_a_list(db):
    template = Template('{% load desk_labels %}{{ one|label:"channel" }} / {{ many|label:"language" }}')
    with translation.override("sv"):
        assert template.render(Context({"one": "email", "many": ["sv", "en"]})) == "E-post / Svenska, Engelska"

"""Every page links the desk's icon, and /favicon.ico (asked for by browsers whatever a page links) answers."""

from django.contrib.staticfiles import finders
from django.templatetags.static import static


def test_favicon_ico_leads_to_the_desks_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("desk/favicon.svg")
    assert finders.find("desk/favicon.svg")


def test_the_sign_in_page_links_the_icon_and_the_desks_stylesheet(db, client):
    page = client.get("/accounts/login/").content.decode()
    assert f'<link rel="icon" href="{static("desk/favicon.svg")}" type="image/svg+xml">' in page
    assert static("desk/desk.css") in page

"""Handing a stored attachment back to a person: always as a download.

A file came from a stranger (a visitor, a mail sender); rendered inline it could run
script in the desk's own origin, so it is sent as ``application/octet-stream`` with
a ``Content-Disposition: attachment`` and the browser saves it instead.
"""

from django.http import FileResponse

from apps.tickets.models import Attachment

# How a download endpoint documents download_response's answer (its ``openapi_extra``).
DOWNLOAD_OPENAPI = {"responses": {200: {"description": "The file", "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}}


def download_response(attachment: Attachment) -> FileResponse:
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename,
                        content_type="application/octet-stream")

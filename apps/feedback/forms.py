"""Validation of a feedback report, the same for JSON and multipart bodies.

A Django form gives per-field messages in the user's language; the API turns
``form.errors`` into its 400 answer.
"""

import base64
import binascii

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.owners.models import Extension
from apps.policy.languages import normalise_language
from supportdesk.text import one_line

CORE_PRODUCT = "core"
# Logs and screenshots; anything else is refused rather than stored.
ALLOWED_TYPES = {
    "text/plain", "text/x-log", "text/csv", "application/json", "application/xml", "text/xml",
    "application/zip", "application/gzip", "application/x-gzip", "application/x-zip-compressed",
    "image/png", "image/jpeg", "image/gif", "image/webp",
}
IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class FeedbackForm(forms.Form):
    user_email = forms.EmailField(label=gettext_lazy("user email"), max_length=254)
    language = forms.CharField(label=gettext_lazy("language"), max_length=16)
    product = forms.CharField(label=gettext_lazy("product"), max_length=100, required=False,
                              help_text=gettext_lazy("core, or an extension's slug"))
    app_version = forms.CharField(label=gettext_lazy("app version"), max_length=50)
    os = forms.CharField(label=gettext_lazy("operating system"), max_length=100, required=False)
    device = forms.CharField(label=gettext_lazy("device"), max_length=100, required=False)
    message = forms.CharField(label=gettext_lazy("message"), strip=True)
    report_id = forms.CharField(label=gettext_lazy("report id"), max_length=100, required=False)

    def __init__(self, *args, attachments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.attachments = list(attachments)

    def clean_language(self) -> str:
        try:
            return normalise_language(self.cleaned_data["language"])
        except ValueError as error:
            raise forms.ValidationError(
                _("Unsupported language %(language)s.") % {"language": self.cleaned_data["language"]}) from error

    def clean_product(self) -> str:
        product = (self.cleaned_data.get("product") or CORE_PRODUCT).strip().lower()
        if product != CORE_PRODUCT and not Extension.objects.filter(slug=product).exists():
            raise forms.ValidationError(_("Unknown product %(product)s.") % {"product": product})
        return product

    def clean_os(self) -> str:
        return one_line(self.cleaned_data.get("os") or "", max_length=100)

    def clean_device(self) -> str:
        return one_line(self.cleaned_data.get("device") or "", max_length=100)

    def clean_message(self) -> str:
        message = self.cleaned_data["message"]
        if len(message) > settings.FEEDBACK_MAX_MESSAGE_CHARS:
            raise forms.ValidationError(_("The message is longer than %(limit)d characters.")
                                        % {"limit": settings.FEEDBACK_MAX_MESSAGE_CHARS})
        return message

    def clean(self):
        cleaned = super().clean()
        if len(self.attachments) > settings.FEEDBACK_MAX_ATTACHMENTS:
            self.add_error(None, _("At most %(count)d attachments are accepted.")
                           % {"count": settings.FEEDBACK_MAX_ATTACHMENTS})
            return cleaned
        for upload in self.attachments:
            problem = attachment_problem(upload)
            if problem:
                self.add_error(None, problem)
        return cleaned


def attachment_problem(upload) -> str | None:
    """Why an attachment is refused, or None."""
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if upload.size > settings.FEEDBACK_MAX_ATTACHMENT_BYTES:
        return _("%(name)s is larger than %(limit)s.") % {
            "name": upload.name, "limit": filesizeformat(settings.FEEDBACK_MAX_ATTACHMENT_BYTES)}
    if content_type not in ALLOWED_TYPES:
        return _("%(name)s has a type that is not accepted (%(type)s).") % {"name": upload.name,
                                                                           "type": content_type or "?"}
    if content_type in IMAGE_MAGIC:
        head = upload.read(16)
        upload.seek(0)
        if not head.startswith(IMAGE_MAGIC[content_type]):
            return _("%(name)s is not a %(type)s image.") % {"name": upload.name, "type": content_type}
    return None


def _file_name(value) -> str:
    """A file name, not a path: "logs/app.log" is "app.log"; "x/" and ".." name no file ("")."""
    name = one_line(str(value or "").replace("\\", "/").rsplit("/", 1)[-1], max_length=255)
    return "" if name in (".", "..") else name


def attachments_from_json(items) -> tuple[list[SimpleUploadedFile], list[str]]:
    """JSON attachments ``[{"filename", "content_type", "content_base64"}]`` as uploaded files."""
    files, errors = [], []
    if items in (None, ""):
        return files, errors
    if not isinstance(items, list):
        return files, [_("attachments must be a list.")]
    for index, item in enumerate(items):
        filename = _file_name(item.get("filename")) if isinstance(item, dict) else ""
        if not filename or "content_base64" not in item:
            errors.append(_("Attachment %(index)d needs filename and content_base64.") % {"index": index + 1})
            continue
        try:
            data = base64.b64decode(str(item["content_base64"]), validate=True)
        except (binascii.Error, ValueError):
            errors.append(_("Attachment %(index)d is not valid base64.") % {"index": index + 1})
            continue
        files.append(SimpleUploadedFile(filename, data, content_type=one_line(
            str(item.get("content_type") or ""), max_length=255) or "application/octet-stream"))
    return files, errors

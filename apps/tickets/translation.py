from modeltranslation.translator import TranslationOptions, register

from apps.tickets.models import CannedResponse, ReceiptTemplate


@register(CannedResponse)
class CannedResponseTranslation(TranslationOptions):
    fields = ("title", "body")


@register(ReceiptTemplate)
class ReceiptTemplateTranslation(TranslationOptions):
    fields = ("subject", "body")

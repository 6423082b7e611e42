from modeltranslation.translator import TranslationOptions, register

from apps.routing.models import Queue


@register(Queue)
class QueueTranslation(TranslationOptions):
    fields = ("name",)

from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from apps.routing.models import Queue


@admin.register(Queue)
class QueueAdmin(TranslationAdmin):
    list_display = ["name", "language", "kind"]
    list_filter = ["language", "kind"]

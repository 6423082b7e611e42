from django.contrib import admin

from apps.chat.models import Conversation, Entry


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("ticket", "language", "visitor_name", "visitor_email", "state", "last_seq", "started_at")
    list_filter = ("state", "language")
    search_fields = ("ticket__reference", "visitor_email", "visitor_name")
    readonly_fields = ("id", "ticket", "last_seq", "started_at", "ended_at")


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("conversation", "seq", "sender", "client_id")
    readonly_fields = ("conversation", "seq", "message", "sender", "client_id")

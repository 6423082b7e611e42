"""The admin for tickets: the ticket access rule decides which rows a user sees, and only the
User Support Manager (or a superuser) changes anything, through the actions, so every
change is in the ticket's event log and has its effects (an assignment closes pending offers).

It lives with the actions it calls: ``tickets`` imports nothing above itself.
"""

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from apps.accounts.names import display_name
from apps.desk import actions
from apps.tickets import access, services
from apps.tickets.models import (
    Attachment,
    CannedResponse,
    Contact,
    Message,
    ReceiptTemplate,
    SearchDocument,
    Ticket,
    TicketEvent,
)
from supportdesk.admin_mixins import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "automatic", "channel", "body_text", "external_id"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "actor_label", "data"]


class TicketScopedAdmin(admin.ModelAdmin):
    """Rows of tickets the user may see; outside the rule a change page is 404, as in the console."""

    ticket_path = ""     # how a row reaches its ticket, e.g. "ticket__"; "" for the ticket itself

    def get_queryset(self, request):
        return access.visible(super().get_queryset(request), user=request.user, prefix=self.ticket_path)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(object_id)
        return obj

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and access.works_tickets(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and access.is_manager(request.user)


def _status_action(status: str):
    def action(modeladmin, request, queryset):
        for ticket in queryset:
            try:
                actions.change_status(ticket=ticket, to=status, actor=services.Actor(user=request.user))
            except services.InvalidTransition as error:
                modeladmin.message_user(request, f"{ticket.reference}: {error}", messages.ERROR)
    action.__name__ = f"mark_{status}"
    action.allowed_permissions = ("change",)
    action.short_description = _("Change status to: %(status)s") % {"status": Ticket.Status(status).label}
    return action


class TicketAdminForm(forms.ModelForm):
    """Status and assignee, checked as the console checks them; everything else is read-only here."""

    class Meta:
        model = Ticket
        fields = ["status", "assignee"]

    def clean_status(self):
        old, new = self.instance.status, self.cleaned_data["status"]
        if new != old and new not in services.ALLOWED_TRANSITIONS[old]:
            raise forms.ValidationError(gettext("A ticket cannot move from %(old)s to %(new)s.") % {
                "old": Ticket.Status(old).label, "new": Ticket.Status(new).label})
        return new

    def clean_assignee(self):
        assignee = self.cleaned_data["assignee"]
        if assignee is not None and not access.can_act_on(assignee, self.instance):
            raise forms.ValidationError(gettext("%(agent)s does not take this language or channel.") % {
                "agent": display_name(assignee)})
        return assignee


EDITABLE_TICKET_FIELDS = ("status", "assignee")


@admin.register(Ticket)
class TicketAdmin(TicketScopedAdmin):
    form = TicketAdminForm
    list_display = ["reference", "subject", "channel", "language", "region", "status", "scope",
                    "received_at"]
    list_filter = ["channel", "language", "status", "scope", "region"]
    search_fields = ["reference", "subject", "contact__email", "contact__name", "external_ref"]
    date_hierarchy = "received_at"
    # Only status and assignee are edited here, and only through the services (save_model);
    # triage, language and the rest are the console's.
    readonly_fields = [field.name for field in Ticket._meta.fields
                       if field.name != "id" and field.name not in EDITABLE_TICKET_FIELDS]
    raw_id_fields = ["assignee"]
    inlines = [MessageInline, EventInline]
    actions = [_status_action(status) for status in Ticket.Status.values]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        ticket = Ticket.objects.get(pk=obj.pk)      # the stored row: the form has written into obj
        if "assignee" in form.changed_data:
            ticket = actions.assign_ticket(ticket=ticket, assignee=form.cleaned_data["assignee"],
                                            actor=services.Actor(user=request.user))
        if "status" in form.changed_data:
            actions.change_status(ticket=ticket, to=form.cleaned_data["status"],
                                   actor=services.Actor(user=request.user))


@admin.register(Contact)
class ContactAdmin(TicketScopedAdmin):
    """Contacts of tickets the user may see; edits go through the service, logged on their tickets."""

    list_display = ["name", "email", "phone", "language", "region"]
    search_fields = ["name", "email", "phone"]
    list_filter = ["language", "region"]

    def get_queryset(self, request):
        contacts = admin.ModelAdmin.get_queryset(self, request)
        if access.scope_of(request.user).everything:
            return contacts
        return contacts.filter(pk__in=access.visible_tickets(request.user).values("contact_id"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        contact = Contact.objects.get(pk=obj.pk)
        actions.update_contact(contact=contact, changes={name: form.cleaned_data[name] for name in form.changed_data},
                                actor=services.Actor(user=request.user))


@admin.register(Message)
class MessageAdmin(TicketScopedAdmin):
    ticket_path = "ticket__"
    list_display = ["ticket", "direction", "channel", "created_at", "external_id"]
    list_filter = ["direction", "channel"]
    search_fields = ["ticket__reference", "external_id", "body_text"]
    raw_id_fields = ["ticket", "author_user", "author_contact"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(TicketScopedAdmin):
    ticket_path = "message__ticket__"
    list_display = ["filename", "content_type", "size", "sha256", "message"]
    search_fields = ["filename", "sha256"]
    raw_id_fields = ["message"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin, TicketScopedAdmin):
    ticket_path = "ticket__"
    list_display = ["ticket", "kind", "actor", "actor_label", "created_at"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]


@admin.register(SearchDocument)
class SearchDocumentAdmin(ReadOnlyAdmin, TicketScopedAdmin):
    """What the search index holds for a ticket's messages: written by the desk, shown to check a search."""

    ticket_path = "ticket__"
    list_display = ["ticket", "message", "language", "created_at"]
    list_filter = ["language"]
    search_fields = ["ticket__reference"]


@admin.register(CannedResponse)
class CannedResponseAdmin(TranslationAdmin):
    list_display = ["title"]
    search_fields = ["title", "body"]


@admin.register(ReceiptTemplate)
class ReceiptTemplateAdmin(TranslationAdmin):
    list_display = ["channel", "subject"]

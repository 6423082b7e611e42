"""Installs made before the ticket access rule gave the Agent group change_ticket and change_contact,
with which any agent edited any ticket or contact in the admin, past the services and the event log."""

from django.db import migrations

REVOKED = [("tickets", "change_ticket"), ("tickets", "change_contact")]


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Agent").first()
    if group is None:
        return
    for app_label, codename in REVOKED:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]

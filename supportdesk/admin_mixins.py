"""Admin pieces shared by apps (outside ``apps/``, so every layer may use them)."""


class ReadOnlyAdmin:
    """Rows that only the desk itself writes (events, deliveries, forwards): the admin shows them, never edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

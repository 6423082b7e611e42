"""Background chat work: ending idle chats (a periodic job)."""

from apps.chat import services

IDLE_CHECK_SECONDS = 60


def end_idle_chats_job() -> int:
    """Every minute: chats with an agent and no line for CHAT_IDLE_END_MINUTES are ended."""
    return services.end_idle_conversations()

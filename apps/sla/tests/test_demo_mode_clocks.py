"""Demo mode opens chat and phone at any hour; the SLA clocks still count the real business hours."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone

from apps.chat.services import start_conversation
from apps.policy.services import set_demo_mode
from apps.routing.models import AgentState
from apps.sla.models import SlaTarget
from apps.sla.services import preview

SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def test_a_chat_opened_on_a_saturday_in_demo_mode_gets_the_calendars_acknowledgement_time(regions, queues, agent):
    set_demo_mode(on=True)
    with time_machine.travel(SATURDAY, tick=False):
        AgentState.objects.create(user=agent, presence="online", last_seen_at=timezone.now())
        conversation = start_conversation(language="sv", name="Ada Lind", email="ada@example.com",
                                          entry_point="widget-europe")       # refused without the switch
    targets = {t.kind: t.due_at for t in conversation.ticket.sla_targets.all()}
    # 12 business hours of Europe: Monday 08:00-17:00 Stockholm (9 h), then Tuesday 08:00 + 3 h.
    assert targets[SlaTarget.Kind.ACKNOWLEDGE] == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert targets[SlaTarget.Kind.FIRST_RESPONSE] == SATURDAY + timedelta(minutes=1)     # wall time, as always


def test_deadlines_are_the_same_with_the_switch_on_or_off(regions):
    def deadlines():
        return {(channel, region): preview(region=regions[region], channel=channel, received=SATURDAY)
                for channel in ["chat", "voice", "email", "feedback"] for region in regions}

    real = deadlines()
    set_demo_mode(on=True)
    assert deadlines() == real
    # The email clock waits for the 24x5 window (Sunday 22:00 UTC), then counts 8 h.
    assert real[("email", "europe")]["response_due"] == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)

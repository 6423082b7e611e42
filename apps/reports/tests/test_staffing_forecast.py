"""The staffing forecast's reading of 8 weeks of generated tickets, checked by independent sums."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.chat.services import end_conversation, start_conversation
from apps.desk import actions
from apps.reports.staffing import DEFAULT_HANDLE_SECONDS, HandleSource, staffing_forecast, window
from apps.routing.models import AgentState, PresenceHour
from apps.routing.services import record_presence
from apps.tickets.models import Ticket, TicketEvent

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Wednesday 15 April 2026, 12:30 in Stockholm (summer time since 29 March).
NOW = datetime(2026, 4, 15, 10, 30, tzinfo=UTC)
# The 8 complete weeks before it: Monday 16 February to Sunday 12 April, Stockholm time.
FIRST_MONDAY = datetime(2026, 2, 16)
MONDAY, TUESDAY, WEDNESDAY, SUNDAY = 0, 1, 2, 6


def local(day: datetime, hours: int, minutes: int = 0) -> datetime:
    return (day + timedelta(hours=hours, minutes=minutes)).replace(tzinfo=STOCKHOLM).astimezone(UTC)


def naive_needed(*, per_hour: float, handle: float, answer: float, target: float = 0.8) -> int:
    """Erlang C from its textbook form with factorials (not the module's Erlang B recursion)."""
    traffic = per_hour * handle / 3600
    agents = math.floor(traffic) + 1
    while True:
        top = traffic ** agents / math.factorial(agents) * agents / (agents - traffic)
        waits = top / (sum(traffic ** k / math.factorial(k) for k in range(agents)) + top)
        if 1 - waits * math.exp(-(agents - traffic) * answer / handle) >= target:
            return agents
        agents += 1


class History:
    """Tickets and their events written straight into the tables, as 8 weeks of work left them."""

    def __init__(self, contact):
        self.contact = contact
        self.count = 0

    def ticket(self, *, at: datetime, channel: str = "chat", language: str = "sv",
               handled: float | None = None, agent_id: int = 1) -> Ticket:
        self.count += 1
        ticket = Ticket.objects.create(channel=channel, language=language, contact=self.contact,
                                       external_ref=f"gen-{self.count}", received_at=at)
        if handled is not None:
            taken = at + timedelta(seconds=20)
            if channel == "chat":
                TicketEvent.objects.create(ticket=ticket, kind="assigned", data={"from": None, "to": agent_id},
                                           created_at=taken)
                TicketEvent.objects.create(ticket=ticket, kind="chat", data={"event": "ended", "by": "visitor"},
                                           created_at=taken + timedelta(seconds=handled))
            else:
                TicketEvent.objects.create(ticket=ticket, kind="call", data={"event": "bridged"}, created_at=taken)
                TicketEvent.objects.create(ticket=ticket, kind="call", data={"event": "ended"},
                                           created_at=taken + timedelta(seconds=handled))
        return ticket


@pytest.fixture
def history(contact):
    return History(contact)


def forecast_of(language: str, channel: str):
    with time_machine.travel(NOW, tick=False):
        forecasts = staffing_forecast(now=NOW)
    return next(f for f in forecasts if (f.language, f.channel) == (language, channel))


def test_the_window_is_the_last_eight_complete_local_weeks(regions):
    start, end = window(zone=STOCKHOLM, now=NOW)
    assert start == datetime(2026, 2, 15, 23, tzinfo=UTC)      # Monday 00:00 CET
    assert end == datetime(2026, 4, 12, 22, tzinfo=UTC)        # Monday 00:00 CEST


def test_arrivals_and_handling_times_per_hour_of_the_week(regions, history, agent):
    for week in range(8):
        monday = FIRST_MONDAY + timedelta(weeks=week)
        for n in range(12):       # 12 chats on Mondays 09:00–10:00, handled in 300 s or 500 s
            history.ticket(at=local(monday, 9, 4 * n + 1), handled=300 if n % 2 else 500, agent_id=agent.pk)
        if week < 2:              # two weeks with a long Tuesday 14:00 chat: too few for their own average
            history.ticket(at=local(monday + timedelta(days=1), 14, 10), handled=1000, agent_id=agent.pk)
        history.ticket(at=local(monday + timedelta(days=1), 14, 50))    # and one nobody took
    # Outside the window: the Monday before it, and the current week.
    history.ticket(at=local(FIRST_MONDAY - timedelta(days=7), 9, 5), handled=300, agent_id=agent.pk)
    history.ticket(at=local(datetime(2026, 4, 13), 9, 5), handled=300, agent_id=agent.pk)
    # Another language's queue.
    history.ticket(at=local(FIRST_MONDAY, 9, 5), language="de", handled=300, agent_id=agent.pk)

    forecast = forecast_of("sv", "chat")
    assert forecast.zone == "Europe/Stockholm" and forecast.answer_seconds == 60
    assert forecast.arrivals == 8 * 12 + 2 + 8
    assert forecast.handled == 8 * 12 + 2
    assert forecast.handle_fallback is False
    assert forecast.handle_seconds == pytest.approx((8 * 6 * 300 + 8 * 6 * 500 + 2 * 1000) / 98)

    monday_nine = forecast.rows[MONDAY][9]
    assert monday_nine.arrivals == 96
    assert monday_nine.arrivals_per_hour == 12
    assert monday_nine.handle_source == HandleSource.HOUR and monday_nine.handle_seconds == 400
    assert monday_nine.needed == naive_needed(per_hour=12, handle=400, answer=60)
    assert monday_nine.staffing.traffic == pytest.approx(12 * 400 / 3600)

    tuesday_two = forecast.rows[TUESDAY][14]
    assert tuesday_two.arrivals_per_hour == 10 / 8
    assert tuesday_two.handle_source == HandleSource.QUEUE
    assert tuesday_two.handle_seconds == pytest.approx(forecast.handle_seconds)
    assert tuesday_two.needed == naive_needed(per_hour=10 / 8, handle=forecast.handle_seconds, answer=60)

    quiet = forecast.rows[MONDAY][10]
    assert (quiet.arrivals, quiet.needed) == (0, 0)


def test_an_hour_daylight_saving_skipped_is_averaged_over_the_hours_it_had(regions, history):
    # Sundays 02:30 Stockholm time; on 29 March 2026 that hour did not exist (02:00 → 03:00).
    sundays = [FIRST_MONDAY + timedelta(weeks=week, days=6) for week in range(8)]
    for sunday in sundays:
        if sunday.day != 29:
            history.ticket(at=local(sunday, 2, 30))
    cell = forecast_of("sv", "chat").rows[SUNDAY][2]
    assert cell.arrivals == 7
    assert cell.arrivals_per_hour == 1.0          # 7 tickets in the 7 such hours the window had


def test_a_queue_without_handled_tickets_assumes_the_default_handling_time(regions, history, agent):
    for week in range(8):
        # Calls nobody answered: queued, then ended (the caller hung up or left a voicemail).
        ticket = history.ticket(at=local(FIRST_MONDAY + timedelta(weeks=week), 10, 15), channel="voice")
        TicketEvent.objects.create(ticket=ticket, kind="call", data={"event": "ended"},
                                   created_at=ticket.received_at + timedelta(minutes=2))
    forecast = forecast_of("sv", "voice")
    assert forecast.answer_seconds == 180
    assert (forecast.arrivals, forecast.handled, forecast.handle_fallback) == (8, 0, True)
    cell = forecast.rows[MONDAY][10]
    assert cell.handle_source == HandleSource.DEFAULT and cell.handle_seconds == DEFAULT_HANDLE_SECONDS["voice"]
    assert cell.needed == naive_needed(per_hour=1, handle=DEFAULT_HANDLE_SECONDS["voice"], answer=180)


def test_calls_are_handled_from_the_bridge_to_the_end(regions, history, agent):
    for week in range(8):
        history.ticket(at=local(FIRST_MONDAY + timedelta(weeks=week), 10, 15), channel="voice", handled=240)
    forecast = forecast_of("sv", "voice")
    assert (forecast.handled, forecast.handle_seconds, forecast.handle_fallback) == (8, 240, False)


def test_a_chat_through_the_desk_is_handled_from_taking_to_ending(regions, agent):
    started = local(FIRST_MONDAY + timedelta(weeks=3), 11)
    with time_machine.travel(started, tick=False):
        conversation = start_conversation(language="sv", name="Ada", email="ada@example.com",
                                          check_availability=False)
    with time_machine.travel(started + timedelta(seconds=30), tick=False):
        actions.take_ticket(ticket=conversation.ticket, user=agent)
    with time_machine.travel(started + timedelta(seconds=430), tick=False):
        end_conversation(conversation_id=conversation.pk, by="visitor")
    forecast = forecast_of("sv", "chat")
    assert (forecast.arrivals, forecast.handled, forecast.handle_seconds) == (1, 1, 400)
    assert forecast.rows[MONDAY][11].arrivals == 1


def test_the_current_hour_is_compared_with_the_agents_online_now(regions, history, agent):
    colleague = get_user_model().objects.create_user("agent_sv2", password="pw")
    make_agent(user=colleague, languages=["sv"], channels=["chat"])
    AgentState.objects.create(user=agent, presence="online", last_seen_at=NOW - timedelta(seconds=10))
    AgentState.objects.create(user=colleague, presence="online", last_seen_at=NOW - timedelta(minutes=5))  # stale
    for week in range(8):
        for n in range(12):
            history.ticket(at=local(FIRST_MONDAY + timedelta(weeks=week, days=2), 12, 5 * n), handled=400,
                           agent_id=agent.pk)
    forecast = forecast_of("sv", "chat")
    assert (forecast.now_weekday, forecast.now_hour) == (WEDNESDAY, 12)
    now = forecast.now
    expected = naive_needed(per_hour=12, handle=400, answer=60)
    assert (now.needed, now.serving, now.online_now) == (expected, 2, 1)
    assert now.understaffed_now and now.beyond_team == (expected > 2)
    assert forecast.rows[WEDNESDAY][11].online_now is None        # "now" is the current hour only
    assert forecast.rows[WEDNESDAY][11].online_average is None    # and no presence was recorded in the weeks
    assert forecast.short_hours == sum(cell.needed > 2 for row in forecast.rows for cell in row)


def test_every_hour_is_compared_with_the_agents_online_then_on_average(regions, history, agent):
    other_queue = get_user_model().objects.create_user("agent_de", password="pw")
    make_agent(user=other_queue, languages=["de"], channels=["chat"])
    for week in range(8):
        monday = FIRST_MONDAY + timedelta(weeks=week)
        for n in range(12):                                # Mondays 12:00–13:00 Stockholm: 12 chats of 400 s
            history.ticket(at=local(monday, 12, 5 * n), handled=400, agent_id=agent.pk)
        # The Swedish agent online 45 minutes of that hour in 6 of the 8 weeks; the German one all of it.
        hour = local(monday, 12)
        if week < 6:
            PresenceHour.objects.create(user=agent, hour=hour, minutes=45)
        PresenceHour.objects.create(user=other_queue, hour=hour, minutes=60)
        PresenceHour.objects.create(user=agent, hour=local(monday, 9), minutes=60)   # mornings: all of it

    forecast = forecast_of("sv", "chat")

    noon, morning, night = forecast.rows[MONDAY][12], forecast.rows[MONDAY][9], forecast.rows[MONDAY][3]
    assert noon.online_average == pytest.approx(6 * 45 / 60 / 8)      # 0.5625: the German agent is not counted
    assert morning.online_average == pytest.approx(1.0) and night.online_average == 0.0
    assert noon.needed == naive_needed(per_hour=12, handle=400, answer=60) and noon.understaffed_before
    assert noon.understaffed and not morning.understaffed and not night.understaffed   # nothing arrives then


def test_the_schedule_records_a_minute_for_each_agent_online_with_a_fresh_heartbeat(agent):
    away = get_user_model().objects.create_user("agent_away", password="pw")
    stale = get_user_model().objects.create_user("agent_stale", password="pw")
    for user in (away, stale):
        make_agent(user=user, languages=["sv"], channels=["chat"])
    AgentState.objects.create(user=agent, presence="online", last_seen_at=NOW - timedelta(seconds=10))
    AgentState.objects.create(user=away, presence="away", last_seen_at=NOW)
    AgentState.objects.create(user=stale, presence="online", last_seen_at=NOW - timedelta(minutes=5))

    for minute in range(3):
        assert record_presence(now=NOW + timedelta(seconds=20 * minute)) == 1
    PresenceHour.objects.filter(user=agent).update(minutes=60)
    record_presence(now=NOW + timedelta(seconds=30))                   # an hour never counts more than 60

    assert list(PresenceHour.objects.values_list("user__username", "hour", "minutes")) == [
        (agent.username, NOW.replace(minute=0), 60)]


def test_every_live_queue_of_the_policy_is_forecast(regions):
    forecasts = forecast_of_all()
    assert [(f.channel, f.language) for f in forecasts] == [
        ("chat", "en"), ("chat", "sv"), ("chat", "es"), ("chat", "de"), ("voice", "en"), ("voice", "sv")]
    zones = {f.language: f.zone for f in forecasts}
    assert zones == {"en": "America/New_York", "sv": "Europe/Stockholm", "es": "Europe/Stockholm",
                     "de": "Europe/Stockholm"}


def forecast_of_all():
    with time_machine.travel(NOW, tick=False):
        return staffing_forecast(now=NOW)

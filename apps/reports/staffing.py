"""The staffing forecast: agents needed per hour of the week in each live language queue (Erlang C).

For every live channel with a first-response target (chat 60 s, calls 180 s: the policy's
``SlaPolicy`` rows) and every language it serves, the last ``WEEKS`` complete weeks give:

- arrivals per hour of the week: the tickets received in that local weekday and hour, divided by
  how many real hours that slot had in the window (8, or 7/9 where daylight saving skipped or
  repeated an hour), in the zone of the language's default region (``policy.LanguageRegion``);
- the handling time: from the agent taking the work (a chat assigned to a person, a call bridged)
  to its end (the chat or call ended), averaged in that hour of the week when it has
  ``MIN_HOUR_SAMPLES`` handled tickets, else over the queue, else ``DEFAULT_HANDLE_SECONDS``;
- Erlang C's fewest agents answering ``SERVICE_LEVEL_TARGET`` within the target.

Beside it, who was there: the agents who serve the queue (with their languages and channels
today), how many of them were online on average in that hour of the same weeks (routing's
``PresenceHour``, sampled each minute), and for the current hour how many are online now.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from apps.accounts.preferences import zone_label
from apps.policy.languages import Channel, Language
from apps.policy.models import ChannelRule, LanguageRegion, SlaPolicy, Weekday
from apps.reports import erlang
from apps.reports.rendering import duration, handling_time
from apps.routing.selectors import presence_minutes, queue_agents
from apps.tickets.models import Ticket, TicketEvent

WEEKS = 8
SERVICE_LEVEL_TARGET = 0.80
MIN_HOUR_SAMPLES = 5
# Assumed where a queue has no handled ticket in the window (a new queue): shown as an assumption.
DEFAULT_HANDLE_SECONDS = {Channel.CHAT: 10 * 60, Channel.VOICE: 6 * 60}


@dataclass(frozen=True)
class Handling:
    """Which ticket events start and end an agent's work on a live ticket (``event`` None: any of the kind)."""

    start_kind: str
    start_event: str | None
    end_kind: str
    end_event: str


HANDLING = {
    Channel.CHAT: Handling(TicketEvent.Kind.ASSIGNED, None, TicketEvent.Kind.CHAT, "ended"),
    Channel.VOICE: Handling(TicketEvent.Kind.CALL, "bridged", TicketEvent.Kind.CALL, "ended"),
}


class HandleSource:
    HOUR = "hour"           # this hour of the week's own handled tickets
    QUEUE = "queue"         # the queue's handled tickets over the whole window
    DEFAULT = "default"     # no handled ticket: DEFAULT_HANDLE_SECONDS


@dataclass(frozen=True)
class Cell:
    weekday: int
    hour: int
    arrivals: int                   # tickets received in this slot over the window
    arrivals_per_hour: float
    handle_seconds: float
    handle_source: str
    staffing: erlang.Staffing
    serving: int                    # agents who serve this queue at all
    online_now: int | None          # the current hour only: agents online now
    online_average: float | None    # agents online in this hour of the window's weeks, on average (None: no history)

    @property
    def needed(self) -> int:
        return self.staffing.agents

    @property
    def handle_display(self) -> str:
        return handling_time(self.handle_seconds)

    @property
    def beyond_team(self) -> bool:
        """More agents needed than serve this queue: understaffed whoever comes online."""
        return self.needed > self.serving

    @property
    def understaffed_now(self) -> bool:
        return self.online_now is not None and self.needed > self.online_now

    @property
    def understaffed_before(self) -> bool:
        """Fewer agents were online in this hour of the past weeks, on average, than it needs."""
        return self.online_average is not None and self.online_average < self.needed

    @property
    def understaffed(self) -> bool:
        return self.beyond_team or self.understaffed_now or self.understaffed_before


@dataclass(frozen=True)
class QueueForecast:
    language: str
    channel: str
    zone: str
    region_name: str                # "" when the language has no default region (UTC then)
    window_start: datetime
    window_end: datetime
    answer_seconds: int
    target: float
    arrivals: int
    handled: int
    handle_seconds: float           # the queue's average (or the default)
    handle_fallback: bool
    rows: list[list[Cell]]          # 7 weekdays × 24 hours, local time
    now_weekday: int
    now_hour: int

    @property
    def language_label(self) -> str:
        return str(Language(self.language).label) if self.language in Language.values else self.language

    @property
    def channel_label(self) -> str:
        return str(Channel(self.channel).label)

    @property
    def zone_label(self) -> str:
        """The zone as the profile page names it ("America / New York"), not its identifier."""
        return zone_label(self.zone)

    @property
    def answer_display(self) -> str:
        """The first-response target as the policy table writes it ("1 min"), not "60 seconds"."""
        return duration(self.answer_seconds)

    @property
    def first_day(self) -> date:
        return self.window_start.astimezone(ZoneInfo(self.zone)).date()

    @property
    def last_day(self) -> date:
        return (self.window_end.astimezone(ZoneInfo(self.zone)) - timedelta(days=1)).date()

    @property
    def handle_display(self) -> str:
        return handling_time(self.handle_seconds)

    @property
    def now(self) -> Cell:
        return self.rows[self.now_weekday][self.now_hour]

    @property
    def short_hours(self) -> int:
        return sum(cell.beyond_team for row in self.rows for cell in row)

    @property
    def peak(self) -> int:
        return max(cell.needed for row in self.rows for cell in row)

    @property
    def days(self) -> list[tuple[str, list[Cell]]]:
        return [(self.day_label(weekday), row) for weekday, row in enumerate(self.rows)]

    def day_label(self, weekday: int) -> str:
        return str(Weekday(weekday).label)


def window(*, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The last ``WEEKS`` complete weeks, Monday 00:00 to Monday 00:00 local time, as aware UTC."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday - timedelta(weeks=WEEKS), time(0), zone)
    end = datetime.combine(monday, time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def slot_hours(*, start: datetime, end: datetime, zone: ZoneInfo) -> Counter:
    """How many real hours each local (weekday, hour) had in [start, end): daylight saving makes 7 or 9."""
    hours = Counter()
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        hours[(local.weekday(), local.hour)] += 1
        moment += timedelta(hours=1)
    return hours


def handle_times(*, tickets, handling: Handling) -> dict[int, float]:
    """Seconds each handled ticket took: from the first start event to the first end event after it."""
    starts: dict[int, datetime] = {}
    ends: dict[int, datetime] = {}
    events = (TicketEvent.objects.filter(ticket__in=tickets, kind__in={handling.start_kind, handling.end_kind})
              .values_list("ticket_id", "kind", "data", "created_at").order_by("created_at", "pk"))
    for ticket_id, kind, data, at in events:
        data = data or {}
        if ticket_id not in starts and kind == handling.start_kind and _starts(handling, data):
            starts[ticket_id] = at
        elif (ticket_id in starts and ticket_id not in ends and kind == handling.end_kind
              and data.get("event") == handling.end_event and at > starts[ticket_id]):
            ends[ticket_id] = at
    return {ticket_id: (ends[ticket_id] - starts[ticket_id]).total_seconds() for ticket_id in ends}


def _starts(handling: Handling, data: dict) -> bool:
    if handling.start_event is None:
        return data.get("to") is not None       # an assignment to a person, not back to a queue
    return data.get("event") == handling.start_event


def online_averages(*, members: set[int], presence: list[tuple[int, datetime, int]], zone: ZoneInfo,
                    hours: Counter) -> dict[tuple[int, int], float] | None:
    """Agents of ``members`` online per local (weekday, hour), averaged over the hours each slot had.

    None when nobody's presence was recorded in the window at all (a desk that only just began keeping it).
    """
    if not presence:
        return None
    minutes: Counter = Counter()
    for user_id, hour, online in presence:
        if user_id in members:
            local = hour.astimezone(zone)
            minutes[(local.weekday(), local.hour)] += online
    return {slot: minutes[slot] / 60 / count for slot, count in hours.items() if count}


def queue_forecast(*, language: str, channel: str, answer_seconds: int, zone_name: str, region_name: str,
                   now: datetime, serving: int, online: int, members: set[int] | None = None) -> QueueForecast:
    zone = ZoneInfo(zone_name)
    start, end = window(zone=zone, now=now)
    tickets = Ticket.objects.filter(channel=channel, language=language, received_at__gte=start, received_at__lt=end)
    received = dict(tickets.values_list("pk", "received_at"))
    handled = handle_times(tickets=tickets, handling=HANDLING[channel])
    arrivals: Counter = Counter()
    handled_by_slot: dict[tuple[int, int], list[float]] = defaultdict(list)
    for pk, at in received.items():
        local = at.astimezone(zone)
        slot = (local.weekday(), local.hour)
        arrivals[slot] += 1
        if pk in handled:
            handled_by_slot[slot].append(handled[pk])
    fallback = not handled
    queue_handle = sum(handled.values()) / len(handled) if handled else DEFAULT_HANDLE_SECONDS[channel]
    hours = slot_hours(start=start, end=end, zone=zone)
    averages = online_averages(members=members or set(), presence=presence_minutes(start=start, end=end),
                               zone=zone, hours=hours)
    local_now = now.astimezone(zone)
    rows = []
    for weekday in range(7):
        row = []
        for hour in range(24):
            slot = (weekday, hour)
            samples = handled_by_slot.get(slot, [])
            if len(samples) >= MIN_HOUR_SAMPLES:
                handle, source = sum(samples) / len(samples), HandleSource.HOUR
            else:
                handle, source = queue_handle, (HandleSource.DEFAULT if fallback else HandleSource.QUEUE)
            rate = arrivals[slot] / hours[slot] if hours[slot] else 0.0
            row.append(Cell(
                weekday=weekday, hour=hour, arrivals=arrivals[slot], arrivals_per_hour=rate, handle_seconds=handle,
                handle_source=source, serving=serving,
                staffing=erlang.agents_needed(arrivals_per_hour=rate, handle_seconds=handle,
                                              answer_seconds=answer_seconds, target=SERVICE_LEVEL_TARGET),
                online_now=online if slot == (local_now.weekday(), local_now.hour) else None,
                online_average=None if averages is None else averages.get(slot, 0.0)))
        rows.append(row)
    return QueueForecast(
        language=language, channel=channel, zone=zone_name, region_name=region_name, window_start=start,
        window_end=end, answer_seconds=answer_seconds, target=SERVICE_LEVEL_TARGET, arrivals=len(received),
        handled=len(handled), handle_seconds=queue_handle, handle_fallback=fallback, rows=rows,
        now_weekday=local_now.weekday(), now_hour=local_now.hour)


def staffing_forecast(*, now: datetime) -> list[QueueForecast]:
    """Every live language queue's week grid: channels in the registry's order, languages in the desk's."""
    targets = dict(SlaPolicy.objects.filter(channel__in=list(HANDLING)).values_list("channel", "response_seconds"))
    served = {rule.channel: set(rule.languages) for rule in ChannelRule.objects.filter(channel__in=list(HANDLING))}
    regions = {row.language: row.region for row in LanguageRegion.objects.select_related("region")}
    agents = queue_agents(now=now)
    forecasts = []
    for channel in (channel for channel in HANDLING if channel in targets):
        # A language the rules no longer serve still shows while its tickets are in the window.
        since = now - timedelta(weeks=WEEKS + 1)
        recent = set(Ticket.objects.filter(channel=channel, received_at__gte=since)
                     .values_list("language", flat=True).distinct())
        for language in (code for code in Language.values if code in served.get(channel, set()) | recent):
            region = regions.get(language)
            forecasts.append(queue_forecast(
                language=language, channel=channel, answer_seconds=targets[channel],
                zone_name=region.tz_name if region else "UTC", region_name=region.name if region else "",
                now=now, serving=agents.serving[(language, channel)], online=agents.online[(language, channel)],
                members=agents.members.get((language, channel), set())))
    return forecasts


HANDLE_SOURCE_LABELS = {
    HandleSource.HOUR: _("this hour's handled tickets"),
    HandleSource.QUEUE: _("the queue's handled tickets"),
    HandleSource.DEFAULT: _("assumed (no handled ticket)"),
}

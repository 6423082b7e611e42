"""The manager's dashboard as named tables: each is shown on the page and exported as CSV.

A table is built once from the selectors: ``rows`` hold what the page shows (words in the
viewer's language, times in their zone), ``records`` what the CSV holds (codes *and* their
words, UTC instants, plain numbers). So the page and its export never disagree.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.outbox.models import OutboxItem
from apps.outbox.selectors import counts_by_status
from apps.reports import selectors
from apps.reports.periods import Period
from apps.reports.rendering import duration, share_chart
from apps.routing.selectors import agent_occupancy
from apps.tickets.labels import labels
from supportdesk.text import minutes_seconds

BREACHES_SHOWN = 200


@dataclass(frozen=True)
class Column:
    title: str
    key: str
    link: str = ""          # the row key holding this cell's link


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    fields: list[str]                   # the CSV's header: codes and labels both
    rows: list[dict]
    records: list[dict] | None = None   # the CSV's rows when they differ from the page's (a pivoted trend)
    empty: str = ""
    note: str = ""
    chart: str = ""
    count: int | None = None            # shown beside the title where the number itself matters

    def cells(self) -> list[list[tuple[str, str, str]]]:
        """(column title, text, link) per cell, per row, for the template (a phone shows each cell under its title)."""
        return [[(column.title, _text(row.get(column.key)), row.get(column.link, "") if column.link else "")
                 for column in self.columns] for row in self.rows]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in self.records if self.records is not None else self.rows:
            writer.writerow({key: _csv_value(record.get(key)) for key in self.fields})
        return out.getvalue()


TITLES = {
    "compliance_channel": gettext_lazy("SLA compliance by channel"),
    "compliance_language": gettext_lazy("SLA compliance by language"),
    "compliance_region": gettext_lazy("SLA compliance by region"),
    "trend": gettext_lazy("Share of SLA targets met, per channel"),
    "queues": gettext_lazy("Live queues now"),
    "agents": gettext_lazy("Agents now"),
    "breaches": gettext_lazy("Breaches"),
    "misassignments": gettext_lazy("Misassignments"),
    "outbox": gettext_lazy("Outbox"),
    "ratings": gettext_lazy("Chat ratings"),
    "policies": gettext_lazy("Policy targets"),
}
NAMES = tuple(TITLES)


def build(name: str, *, period: Period, now: datetime) -> Table:
    """One table of the dashboard, by its name (``?table=<name>`` of the CSV export)."""
    if name.startswith("compliance_"):
        return _compliance(name, period)
    return BUILDERS[name](name, period=period, now=now)


def build_all(*, period: Period, now: datetime) -> list[Table]:
    return [build(name, period=period, now=now) for name in NAMES]


def _compliance(name: str, period: Period) -> Table:
    by = name.removeprefix("compliance_")
    rows = selectors.sla_compliance(start=period.start, end=period.end, by=by)
    words, kinds = labels(by, {row.key for row in rows}), labels("target")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(str(_dimension_title(by)), f"{by}_label"), Column(_("Target"), "target_label"),
                 Column(_("Met"), "met"), Column(_("Breached"), "breached"), Column(_("Pending"), "pending"),
                 Column(_("Compliance"), "compliance_text")],
        fields=[by, f"{by}_label", "target", "target_label", "met", "breached", "pending", "compliance"],
        rows=[{by: row.key, f"{by}_label": words.get(row.key, row.key) if row.key else _("No region"),
               "target": row.kind, "target_label": kinds.get(row.kind, row.kind), "met": row.met,
               "breached": row.breached, "pending": row.pending, "compliance": row.compliance,
               "compliance_text": _percent(row.compliance)} for row in rows],
        empty=_("No tickets in this period."))


def _dimension_title(by: str):
    return {"channel": gettext_lazy("Channel"), "language": gettext_lazy("Language"),
            "region": gettext_lazy("Region")}[by]


def _trend(name: str, *, period: Period, now: datetime) -> Table:
    points = selectors.compliance_trend(period=period, today=timezone.localdate(now, period.zone))
    names = labels("channel")
    shown = list(dict.fromkeys(point.channel for point in points))
    buckets = list(dict.fromkeys(point.bucket for point in points))
    by_key = {(point.bucket, point.channel): point for point in points}
    step = _("Week of") if period.weekly else _("Day")
    rows = [{"bucket": _day(bucket), **{channel: _fraction(by_key[(bucket, channel)]) for channel in shown}}
            for bucket in buckets]
    table = Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(step, "bucket"), *[Column(names.get(channel, channel), channel) for channel in shown]],
        fields=["period_start", "channel", "channel_label", "met", "breached", "compliance"], rows=rows,
        records=[{"period_start": point.bucket, "channel": point.channel, "channel_label": names.get(point.channel),
                  "met": point.met, "breached": point.breached, "compliance": point.compliance} for point in points],
        empty=_("No tickets in this period."),
        note=_("Targets met on time among those decided, by the day the ticket arrived (by week over a long "
               "period)."))
    if points:
        table.chart = share_chart(table.title, [_day(bucket) for bucket in buckets],
                                  {names.get(channel, channel): [by_key[(bucket, channel)].compliance
                                                                 for bucket in buckets] for channel in shown})
    return table


def _fraction(point: selectors.TrendPoint) -> str:
    decided = point.met + point.breached
    return f"{point.met}/{decided} ({_percent(point.compliance)})" if decided else "—"


def _queues(name: str, *, period: Period, now: datetime) -> Table:
    rows = selectors.live_queues(now=now)
    languages, names = labels("language"), labels("channel")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Language"), "language_label"), Column(_("Channel"), "channel_label"),
                 Column(_("Waiting"), "waiting"), Column(_("Longest wait"), "longest_text"),
                 Column(_("Median wait"), "median_text")],
        fields=["language", "language_label", "channel", "channel_label", "waiting", "longest_seconds",
                "median_seconds"],
        rows=[{"language": row.language, "language_label": languages.get(row.language, row.language),
               "channel": row.channel, "channel_label": names.get(row.channel, row.channel), "waiting": row.waiting,
               "longest_seconds": _whole(row.longest_seconds), "median_seconds": _whole(row.median_seconds),
               "longest_text": _wait(row.longest_seconds), "median_text": _wait(row.median_seconds)} for row in rows],
        empty=_("No live queue is served."), note=_("Chats and calls waiting for a person now (min:s)."))


def _agents(name: str, *, period: Period, now: datetime) -> Table:
    rows = agent_occupancy(now=now)
    presence, languages, names = labels("presence"), labels("language"), labels("channel")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Agent"), "agent"), Column(_("Presence"), "presence_label"),
                 Column(_("Languages"), "languages_label"), Column(_("Channels"), "channels_label"),
                 Column(_("Open live work"), "open_live"), Column(_("Capacity"), "capacity"),
                 Column(_("Occupancy"), "occupancy_text"), Column(_("Last seen"), "last_seen_text")],
        fields=["username", "name", "presence", "presence_label", "languages", "languages_label", "channels",
                "channels_label", "open_live", "capacity", "occupancy", "last_seen_at"],
        rows=[{"username": row.username, "name": row.name, "agent": row.name or row.username,
               "presence": row.presence, "presence_label": presence.get(row.presence, row.presence),
               "languages": " ".join(row.languages),
               "languages_label": ", ".join(languages.get(code, code) for code in row.languages),
               "channels": " ".join(row.channels),
               "channels_label": ", ".join(names.get(code, code) for code in row.channels),
               "open_live": row.load, "capacity": row.capacity, "occupancy": row.occupancy,
               "occupancy_text": _percent(row.occupancy), "last_seen_at": row.last_seen_at,
               "last_seen_text": row.last_seen_at} for row in rows],
        empty=_("No agents."),
        note=_("Occupancy: open chats and calls held ÷ the agent's capacity on their live channels."))


def _breaches(name: str, *, period: Period, now: datetime) -> Table:
    rows = selectors.breaches(start=period.start, end=period.end, now=now)
    words = {dimension: labels(dimension, {getattr(row, dimension) for row in rows})
             for dimension in ("channel", "language", "region", "status")}
    kinds = labels("target")
    records = [{"reference": row.reference, "url": reverse("console:ticket", args=[row.reference]),
                **{dimension: getattr(row, dimension) for dimension in words},
                **{f"{dimension}_label": words[dimension].get(getattr(row, dimension), "") for dimension in words},
                "target": row.kind, "target_label": kinds.get(row.kind, row.kind), "due_at": row.due_at,
                "met_at": row.met_at, "late_seconds": _whole(row.late_seconds),
                "late_text": duration(row.late_seconds) if row.met_at else
                _("%(duration)s so far") % {"duration": duration(row.late_seconds)}} for row in rows]
    shown = records[:BREACHES_SHOWN]
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Ticket"), "reference", link="url"), Column(_("Channel"), "channel_label"),
                 Column(_("Language"), "language_label"), Column(_("Target"), "target_label"),
                 Column(_("Due"), "due_at"), Column(_("Late by"), "late_text"),
                 Column(_("Status"), "status_label")],
        fields=["reference", "channel", "channel_label", "language", "language_label", "region", "region_label",
                "status", "status_label", "target", "target_label", "due_at", "met_at", "late_seconds"],
        rows=shown, records=records, count=len(records), empty=_("No breaches in this period."),
        note=_("%(shown)d of %(count)d shown; the CSV has them all.") % {"shown": len(shown), "count": len(records)}
        if len(records) > len(shown) else "")


def _misassignments(name: str, *, period: Period, now: datetime) -> Table:
    rows = selectors.misassignments(start=period.start, end=period.end)
    extensions, statuses = labels("extension", {row.extension for row in rows}), labels("status")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Ticket"), "reference", link="url"), Column(_("Returned"), "at"),
                 Column(_("Extension"), "extension_name"), Column(_("Owner"), "owner"),
                 Column(_("Reason"), "reason"), Column(_("Status now"), "status_label")],
        fields=["reference", "at", "extension", "extension_name", "owner", "reason", "status", "status_label"],
        rows=[{"reference": row.reference, "url": reverse("console:ticket", args=[row.reference]), "at": row.at,
               "extension": row.extension, "extension_name": extensions.get(row.extension, row.extension),
               "owner": row.owner, "reason": row.reason, "status": row.status,
               "status_label": statuses.get(row.status, row.status)} for row in rows],
        count=len(rows), empty=_("No ticket was returned as not ours in this period."))


def _outbox(name: str, *, period: Period, now: datetime) -> Table:
    counts = counts_by_status()
    shown = [OutboxItem.Status.DEAD, OutboxItem.Status.PENDING, OutboxItem.Status.SENDING]
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Status"), "status_label"), Column(_("Count"), "count")],
        fields=["status", "status_label", "count"],
        rows=[{"status": status.value, "status_label": str(status.label), "count": counts.get(status.value, 0)}
              for status in shown],
        note=_("Mail and calls the desk could not deliver are dead letters: listed with their send-again "
               "button on the outbox page."))


def _ratings(name: str, *, period: Period, now: datetime) -> Table:
    rows = selectors.chat_ratings(start=period.start, end=period.end)
    languages = labels("language")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Language"), "language_label"), Column(_("Ended chats"), "ended"),
                 Column(_("Rated"), "rated"), Column(_("Good"), "good"), Column(_("Bad"), "bad"),
                 Column(_("Share good"), "good_share_text")],
        fields=["language", "language_label", "ended", "rated", "good", "bad", "good_share"],
        rows=[{"language": row.language, "language_label": languages.get(row.language, row.language),
               "ended": row.ended, "rated": row.rated, "good": row.good, "bad": row.bad,
               "good_share": row.good_share, "good_share_text": _percent(row.good_share)} for row in rows],
        empty=_("No chats ended in this period."))


def _policies(name: str, *, period: Period, now: datetime) -> Table:
    names = labels("channel")
    return Table(
        name=name, title=str(TITLES[name]),
        columns=[Column(_("Channel"), "channel_label"), Column(_("First response"), "response_text"),
                 Column(_("Acknowledgement"), "acknowledge_text"), Column(_("Warning at"), "warning_text")],
        fields=["channel", "channel_label", "response_seconds", "response_clock", "response_clock_label",
                "acknowledge_seconds", "warning_share"],
        rows=[{"channel": policy.channel, "channel_label": names.get(policy.channel, policy.channel),
               "response_seconds": policy.response_seconds, "response_clock": policy.response_clock,
               "response_clock_label": policy.get_response_clock_display(),
               # A clock's name may carry its own parenthesis ("Faktisk tid (dygnet runt)"): a dot, not another one.
               "response_text": f"{duration_text(policy.response_seconds)} · {policy.get_response_clock_display()}",
               "acknowledge_seconds": policy.acknowledge_seconds,
               "acknowledge_text": _("%(duration)s in the region's business hours")
               % {"duration": duration_text(policy.acknowledge_seconds)},
               "warning_share": policy.warning_share, "warning_text": _percent(policy.warning_share)}
              for policy in selectors.policy_targets()])


def duration_text(seconds: int) -> str:
    return duration(seconds) if seconds >= 60 else _("%(seconds)d s") % {"seconds": seconds}


BUILDERS: dict[str, Callable[..., Table]] = {
    "trend": _trend, "queues": _queues, "agents": _agents, "breaches": _breaches,
    "misassignments": _misassignments, "outbox": _outbox, "ratings": _ratings, "policies": _policies,
}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)} %"


def _wait(seconds: float | None) -> str:
    return "—" if seconds is None else minutes_seconds(seconds)


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _day(day: date) -> str:
    return formats.date_format(day, "Y-m-d")


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i T")
    return str(value)


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


"""An owner report as files: HTML with SVG charts (pygal), the same page as PDF (WeasyPrint), and CSV.

Everything is rendered in the owner's language. Chinese and Japanese need a CJK font on the
machine (Debian's fonts-noto-cjk): without one the PDF would show empty boxes, so the desk says
so loudly instead (``missing_font``).
"""

import csv
import io
import logging
import shutil
import subprocess
from dataclasses import dataclass

import pygal
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from pygal.style import Style

from apps.reports.owner_report import BUCKETS, PENDING, RESOLVED, UNANSWERED, WITH_VENDOR, OwnerReport
from apps.tickets.labels import labels

log = logging.getLogger(__name__)
FONTS = "'Noto Sans', 'Noto Sans CJK SC', 'Noto Sans CJK JP', 'DejaVu Sans', sans-serif"
CJK = {"zh-hans": "zh", "ja": "ja"}
PALETTE = ("#3465a4", "#cc0000", "#4e9a06", "#c17d11", "#75507b", "#555753")


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes | None
    csv: str
    warning: str = ""


def bucket_labels() -> dict[str, str]:
    return {RESOLVED: _("Resolved"), PENDING: _("Pending with the owner"),
            UNANSWERED: _("Unanswered by the owner"), WITH_VENDOR: _("With the vendor's agents")}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}


def handling_time(seconds: float) -> str:
    """A handling time with its units (4 min 5 s), never 4:05, which reads as a time of day beside an hour grid."""
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return _("%(seconds)d s") % {"seconds": rest}
    if not rest:
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}


def share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def chart_style(*colors: str) -> Style:
    """The desk's chart look (fonts that carry CJK text, white ground), shared by every chart."""
    return Style(font_family=FONTS, background="white", plot_background="white", colors=colors or PALETTE)


def bar_chart(title: str, counts: dict[str, int]) -> str:
    chart = pygal.HorizontalBar(style=chart_style("#3465a4"), show_legend=False,
                                height=max(160, 60 + 36 * len(counts)), width=640, print_values=True, title=title,
                                disable_xml_declaration=True, truncate_label=-1, show_y_guides=False, margin_left=60,
                                js=[])    # pygal would load its tooltip script from a CDN: nothing leaves the desk
    chart.x_labels = list(counts)
    chart.add(title, list(counts.values()))
    return chart.render(is_unicode=True)


def share_chart(title: str, x_labels: list[str], series: dict[str, list[float | None]]) -> str:
    """Shares (0-1) per period as an inline SVG line chart, one line per series, loading no script.

    ``role="img"`` and its title name it to screen readers; the page shows the numbers in a table beside it.
    """
    chart = pygal.Line(style=chart_style(), title=title, width=720, height=320, disable_xml_declaration=True,
                       js=[], truncate_label=-1, x_label_rotation=30 if len(x_labels) > 10 else 0, range=(0, 100),
                       value_formatter=lambda value: f"{value:.0f} %", allow_interruptions=True,
                       legend_at_bottom=True)
    chart.x_labels = x_labels
    for name, values in series.items():
        chart.add(name, [None if value is None else round(100 * value, 1) for value in values])
    svg = chart.render(is_unicode=True)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)


def missing_font(language: str) -> str:
    """A clear warning when a Chinese or Japanese report would have no font for its script."""
    script = CJK.get(language)
    if not script:
        return ""
    fc_list = shutil.which("fc-list")
    found = fc_list and subprocess.run([fc_list, f":lang={script}", "family"], capture_output=True,
                                       text=True, timeout=30).stdout.strip()
    if found:
        return ""
    return (f"No font for {script} text is installed: the PDF would show empty boxes. Install Debian's "
            "fonts-noto-cjk (apt-get install fonts-noto-cjk).")


def render(report: OwnerReport, *, pdf: bool = True) -> Rendered:
    with translation.override(report.owner.language):
        html = _html(report)
        table = _csv(report)
    warning = missing_font(report.owner.language)
    if warning:
        log.warning("%s report of %s: %s", report.quarter, report.owner.slug, warning)
    document = None
    if pdf:
        from weasyprint import HTML  # heavy to import; only where a PDF is made

        document = HTML(string=html).write_pdf()
    return Rendered(html=html, pdf=document, csv=table, warning=warning)


def _html(report: OwnerReport) -> str:
    buckets = bucket_labels()
    sections = []
    for dimension, title in (("extension", _("By extension")), ("category", _("By category")),
                             ("channel", _("By channel")), ("language", _("By language")),
                             ("region", _("By region"))):
        names = labels(dimension, report.by[dimension])
        rows = [(names.get(code, code) or "—", count) for code, count in report.by[dimension].most_common()]
        sections.append({"title": title, "rows": rows})
    bucket_rows = [(buckets[bucket], report.buckets.get(bucket, 0), report.previous_buckets.get(bucket, 0))
                   for bucket in BUCKETS]
    times = [(_("Acknowledgement"), report.acknowledge), (_("First response"), report.response),
             (_("Resolution by the owner"), report.resolution)]
    statuses = labels("status", [])
    ticket_rows = [{"reference": line.reference, "received_at": line.received_at,
                    "status": statuses.get(line.status, line.status), "bucket": buckets[line.bucket],
                    "extension": line.extension, "jira_key": line.jira_key or "—"} for line in report.lines]
    return render_to_string("reports/owner_quarterly.html", {
        "report": report, "buckets": bucket_rows, "sections": sections,
        "bucket_chart": bar_chart(_("Tickets by state"), {label: count for label, count, _p in bucket_rows}),
        "extension_chart": bar_chart(_("Tickets by extension"), dict(sections[0]["rows"])),
        "times": [(name, t, duration(t.median_seconds), duration(t.p90_seconds), share(t.met_share))
                  for name, t in times], "tickets": ticket_rows, "language": report.owner.language,
    })


def _csv(report: OwnerReport) -> str:
    """One row per ticket, codes and their words both."""
    names = {dimension: labels(dimension, report.by.get(dimension, {})) for dimension in
             ("extension", "category", "channel", "language", "region")}
    statuses, buckets = labels("status", []), bucket_labels()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "received_at", "status", "status_label", "state", "state_label",
                     "extension", "extension_name", "category", "category_label", "channel", "channel_label",
                     "language", "language_label", "region", "region_name", "jira_key", "acknowledge_seconds",
                     "acknowledge_met", "first_response_seconds", "first_response_met", "resolution_seconds"])
    for line in report.lines:
        writer.writerow([
            line.reference, line.received_at.isoformat(), line.status, statuses.get(line.status, ""),
            line.bucket, buckets[line.bucket], line.extension, names["extension"].get(line.extension, ""),
            line.category, names["category"].get(line.category, ""), line.channel,
            names["channel"].get(line.channel, ""), line.language, names["language"].get(line.language, ""),
            line.region, names["region"].get(line.region, ""), line.jira_key, _number(line.acknowledge_seconds),
            _flag(line.acknowledge_met), _number(line.response_seconds), _flag(line.response_met),
            _number(line.resolution_seconds)])
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _flag(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


"""The dashboard's pictures as server-rendered SVG (no chart library, no script): a restaurant's timeline
and a batch's pace. Colours are presentation attributes, not styles: the page's CSP allows no inline
style. Every picture has a <title>, a <desc> and a table with the same facts beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape

from markupsafe import Markup

from yolobatch.domain.pace import earliest_completions
from yolobatch.store.pictures import BatchPace, Lane, Segment, Timeline

WIDTH = 760  # the batch chart's drawing units; both pictures scale to their box (width 100%)
TIMELINE_W = 600  # the drawer is narrower
LABEL_W = 110
ROW_H = 20
BAR_H = 12
AXIS_H = 22
MIN_BAR = 2.0  # px: a 40 ms attempt must still be seen and hovered

# kind -> (fill, legend text); the waits also differ by pattern (stroke) for readers who cannot tell hues.
KINDS: dict[str, tuple[str, str]] = {
    "attempt_ok": ("#1b7f3b", "call attempt answered"),
    "attempt_failed": ("#c62828", "call attempt failed"),
    "queue": ("#9e9e9e", "queued at the global cap"),
    "gate": ("#e6a100", "waiting at the account rate gate"),
    "person": ("#6a1b9a", "waiting for a person"),
    "step": ("#4f7fbf", "step running or done"),
}
DASHED = {"queue", "gate", "person"}


def _kind(segment: Segment) -> str:
    return "step" if segment.kind.startswith("step_") else segment.kind


def seconds_label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M:%S")


def _ticks(span: float) -> list[float]:
    """About five round tick offsets (seconds) across `span`."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600):
        if span / step <= 6:
            return [i * step for i in range(int(span // step) + 1)]
    return [0.0, span]


@dataclass(frozen=True)
class Scale:
    start: datetime
    span: float  # seconds
    x0: float
    width: float

    def x(self, moment: datetime) -> float:
        return self.x0 + self.width * (moment - self.start).total_seconds() / self.span


def _axis(scale: Scale, y: float, height: float) -> list[str]:
    parts = []
    for offset in _ticks(scale.span):
        x = scale.x0 + scale.width * offset / scale.span
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + height}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y - 6}" font-size="10" text-anchor="middle" fill="#444">'
            f"+{escape(seconds_label(offset))}</text>"
        )
    return parts


def timeline_svg(timeline: Timeline, zone: tzinfo, zone_name: str) -> Markup:
    """Steps, then the 12 calls, one lane each; every segment a bar with its own <title>."""
    lanes: list[Lane] = [*timeline.steps, *timeline.calls]
    span = max(0.001, (timeline.end - timeline.start).total_seconds())
    scale = Scale(timeline.start, span, LABEL_W, TIMELINE_W - LABEL_W - 14)
    height = AXIS_H + ROW_H * len(lanes) + 8
    title = "Timeline of this restaurant's steps and registration calls"
    desc = (
        f"From {clock(timeline.start, zone)} to {clock(timeline.end, zone)} ({zone_name}), "
        f"{seconds_label(span)}; {timeline.attempts} call attempts. The table below lists every bar."
    )
    parts = [
        f'<svg class="timeline" role="img" aria-labelledby="tl-title tl-desc" width="100%" '
        f'viewBox="0 0 {TIMELINE_W} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="tl-title">{escape(title)}</title><desc id="tl-desc">{escape(desc)}</desc>',
        *_axis(scale, AXIS_H, ROW_H * len(lanes)),
    ]
    for row, lane in enumerate(lanes):
        y = AXIS_H + row * ROW_H
        if row == len(timeline.steps):
            parts.append(f'<line x1="0" y1="{y}" x2="{TIMELINE_W}" y2="{y}" stroke="#999"/>')
        parts.append(
            f'<text x="4" y="{y + 14}" font-size="11" fill="#222">{escape(lane.title)}</text>'
            f'<g class="lane" data-lane="{escape(lane.key)}">'
        )
        for segment in lane.segments:
            parts.append(_bar(segment, scale, y, zone))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(segment: Segment, scale: Scale, y: float, zone: tzinfo) -> str:
    kind = _kind(segment)
    fill = KINDS[kind][0]
    x = scale.x(segment.start)
    width = max(MIN_BAR, scale.x(segment.end) - x)
    took = (segment.end - segment.start).total_seconds()
    when = f"{clock(segment.start, zone)} to {clock(segment.end, zone)}"
    tip = f"{segment.label} — {when} ({seconds_label(took)})"
    # Waits are thinner, hollow-ish bars with a dashed edge: told apart without colour too.
    inset, bar_h = (3, BAR_H - 6) if kind in DASHED else (0, BAR_H)
    dash = ' stroke="#222" stroke-dasharray="2 2"' if kind in DASHED else ""
    return (
        f'<rect class="seg k-{kind}" data-kind="{segment.kind}" data-start="{segment.start.timestamp():.3f}" '
        f'data-end="{segment.end.timestamp():.3f}" x="{x:.2f}" y="{y + 4 + inset}" width="{width:.2f}" '
        f'height="{bar_h}" fill="{fill}"{dash}><title>{escape(tip)}</title></rect>'
    )


def legend(kinds: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(kind, colour, text) for the legend under a picture."""
    return [(k, KINDS[k][0], KINDS[k][1]) for k in (kinds or list(KINDS))]


def timeline_rows(timeline: Timeline, zone: tzinfo) -> list[dict[str, str]]:
    """The table alternative: one row per bar, in lane order then time order."""
    return [
        {
            "lane": lane.title,
            "what": KINDS[_kind(seg)][1] if _kind(seg) != "step" else seg.label,
            "detail": seg.label,
            "start": clock(seg.start, zone),
            "end": clock(seg.end, zone),
            "took": seconds_label((seg.end - seg.start).total_seconds()),
        }
        for lane in [*timeline.steps, *timeline.calls]
        for seg in lane.segments
    ]


CHART_H = 170
MAX_DOTS = 200
MAX_ROWS = 100
FLIGHT_H = 80


def pace_bound(pace: BatchPace, *, cap: int, account_interval: float, time_scale: float) -> list[float]:
    return earliest_completions(
        pace.total,
        account_interval=account_interval,
        cap=cap,
        quickest_tail=pace.quickest_tail,
        platform_seconds=pace.platform_seconds,
        time_scale=time_scale,
    )


def pace_svg(pace: BatchPace, bound: list[float], *, cap: int, zone: tzinfo, zone_name: str) -> Markup:
    """Restaurants completed over time against the lower-bound pace; calls in flight against the cap."""
    start = pace.started_at or pace.now
    last = max([pace.now if len(pace.completions) < pace.total else start, *pace.completions])
    span = max(1.0, (last - start).total_seconds(), bound[-1] if bound else 0.0)
    scale = Scale(start, span, 50, WIDTH - 60)
    top, total = 24, max(1, pace.total)
    height = top + CHART_H + 36 + FLIGHT_H + 24
    done = len(pace.completions)
    title = "Restaurants completed over time, and calls in flight"
    desc = (
        f"{done} of {pace.total} restaurants completed in {seconds_label((last - start).total_seconds())} "
        f"since {clock(start, zone)} ({zone_name})"
        + (f"; at the lower-bound pace all would take {seconds_label(bound[-1])}" if bound else "")
        + f". Calls in flight never exceed the cap of {cap}."
    )
    parts = [
        f'<svg class="pace" role="img" aria-labelledby="pace-title pace-desc" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="pace-title">{escape(title)}</title><desc id="pace-desc">{escape(desc)}</desc>',
        *_axis(scale, top, CHART_H),
        f'<text x="4" y="{top + 10}" font-size="10" fill="#444">{pace.total}</text>',
        f'<text x="4" y="{top + CHART_H}" font-size="10" fill="#444">0</text>',
        f'<text x="4" y="{top + CHART_H / 2}" font-size="10" fill="#444">done</text>',
    ]

    def y_done(count: int) -> float:
        return top + CHART_H - CHART_H * count / total

    if bound:
        points = [(scale.x0, y_done(0))]
        for k, seconds in enumerate(bound, start=1):
            x = scale.x0 + scale.width * seconds / span
            points += [(x, y_done(k - 1)), (x, y_done(k))]
        parts.append(_polyline(points, KINDS["gate"][0], "pace-bound", dashed=True))
    points = [(scale.x0, y_done(0))]
    for k, moment in enumerate(pace.completions, start=1):
        points += [(scale.x(moment), y_done(k - 1)), (scale.x(moment), y_done(k))]
    points.append((scale.x(last), y_done(done)))
    parts.append(_polyline(points, KINDS["attempt_ok"][0], "completed"))
    # A dot per completion while they can be told apart; a big batch's line says it alone.
    for k, moment in enumerate(pace.completions if len(pace.completions) <= MAX_DOTS else [], start=1):
        x = scale.x(moment)
        parts.append(
            f'<circle class="completion" cx="{x:.2f}" cy="{y_done(k):.2f}" '
            f'r="2.5" fill="{KINDS["attempt_ok"][0]}">'
            f"<title>completed at {clock(moment, zone)}</title></circle>"
        )
    base = top + CHART_H + 36
    peak = max([cap, *(level for _, level in pace.in_flight)])

    def y_flight(level: int) -> float:
        return base + FLIGHT_H - FLIGHT_H * level / peak

    parts.append(f'<text x="4" y="{base + 10}" font-size="10" fill="#444">in flight</text>')
    parts.append(
        _polyline(
            [(scale.x0, y_flight(cap)), (scale.x0 + scale.width, y_flight(cap))],
            KINDS["attempt_failed"][0],
            "cap",
            dashed=True,
        )
    )
    parts.append(
        f'<text x="{scale.x0 + scale.width - 2}" y="{y_flight(cap) - 3:.1f}" font-size="10" '
        f'text-anchor="end" fill="#222">cap {cap}</text>'
    )
    points, level = [(scale.x0, y_flight(0))], 0
    for moment, new_level in pace.in_flight:
        x = min(scale.x0 + scale.width, scale.x(moment))
        points += [(x, y_flight(level)), (x, y_flight(new_level))]
        level = new_level
    points.append((scale.x0 + scale.width, y_flight(level)))
    parts.append(_polyline(points, KINDS["step"][0], "in-flight"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most four points per pixel column (first, highest, lowest, last): a 10 000-restaurant batch's
    lines stay a few thousand points, and no peak is lost (a cap reached for a moment still shows)."""
    kept: list[tuple[float, float]] = []
    column: list[tuple[float, float]] = []
    sentinel = (points[-1][0] + 10, 0.0) if points else (0.0, 0.0)  # closes the last column
    for point in [*points, sentinel]:
        if column and round(point[0]) != round(column[0][0]):
            picks = {0, len(column) - 1}
            picks.add(min(range(len(column)), key=lambda i: column[i][1]))
            picks.add(max(range(len(column)), key=lambda i: column[i][1]))
            kept += [column[i] for i in sorted(picks)]
            column = []
        column.append(point)
    return kept


def _polyline(points: list[tuple[float, float]], colour: str, name: str, *, dashed: bool = False) -> str:
    coords = " ".join(f"{x:.2f},{y:.2f}" for x, y in _thin(points))
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (
        f'<polyline class="{name}" points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
    )


def pace_rows(pace: BatchPace, bound: list[float], zone: tzinfo) -> list[dict[str, str]]:
    """The chart's table alternative: each completion beside the earliest the limits allowed for it."""
    start = pace.started_at or pace.now
    rows = []
    # Up to MAX_ROWS rows: every restaurant in a small batch, evenly spaced milestones in a big one.
    counts = sorted({max(1, round(pace.total * i / MAX_ROWS)) for i in range(1, MAX_ROWS + 1)})
    for k in counts if pace.total > MAX_ROWS else range(1, pace.total + 1):
        moment = pace.completions[k - 1] if k <= len(pace.completions) else None
        rows.append(
            {
                "n": str(k),
                "at": clock(moment, zone) if moment else "not yet",
                "after": seconds_label((moment - start).total_seconds()) if moment else "",
                "bound": seconds_label(bound[k - 1]) if k <= len(bound) else "",
            }
        )
    return rows

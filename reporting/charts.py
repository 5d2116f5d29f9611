"""Bar charts drawn on the server as inline SVG geometry (no JavaScript, nothing to download)."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

PLOT_HEIGHT = 160
LABEL_SPACE = 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    zero_y: float  # the baseline; negative values (credits) hang below it


def bar_chart(
    title: str, points: Sequence[tuple[str, Decimal | int]], *, slot: int = 48
) -> BarChart | None:
    """One bar per (label, value); None when there is nothing to draw."""
    if not points:
        return None
    values = [Decimal(value) for _, value in points]
    top, bottom = max(max(values), Decimal(0)), min(min(values), Decimal(0))
    span = (top - bottom) or Decimal(1)
    zero_y = float(top / span) * PLOT_HEIGHT
    bars = []
    for index, ((label, _), value) in enumerate(zip(points, values, strict=True)):
        size = float(abs(value) / span) * PLOT_HEIGHT
        bars.append(
            Bar(
                label=label,
                value=value,
                x=index * slot + slot * 0.1,
                y=zero_y - size if value >= 0 else zero_y,
                width=slot * 0.8,
                height=size,
            )
        )
    return BarChart(
        title=title,
        bars=bars,
        width=len(points) * slot,
        height=PLOT_HEIGHT + LABEL_SPACE,
        zero_y=zero_y,
    )

"""The report charts' SVG and tables: tick values, label boxes that never overlap, legend."""

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal as D

import pytest
from django.template.loader import render_to_string
from django.test.html import parse_html

from reporting.charts import CHAR_WIDTH, FONT_SIZE, Chart, Series, bar_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
Point = tuple[float, float]


def svg_of(chart: Chart | None) -> ET.Element:
    assert chart is not None
    return ET.fromstring(str(chart.svg))  # noqa: S314 - our own markup, not untrusted input


def texts(root: ET.Element, group: str) -> list[ET.Element]:
    element = root.find(f"{SVG}g[@class='{group}']")
    assert element is not None
    return element.findall(f"{SVG}text")


def attrs(elements: list[ET.Element], *names: str) -> list[tuple[str | None, ...]]:
    return [tuple(element.get(name) for name in names) for element in elements]


def text_box(text: ET.Element) -> list[Point]:
    """The corners of a text's box: its characters' width, FONT_SIZE above the baseline and
    3 px below it, placed by its anchor and turned by its transform."""
    x, y = float(text.get("x", "")), float(text.get("y", ""))
    width = len(text.text or "") * CHAR_WIDTH
    left = {"start": x, "middle": x - width / 2, "end": x - width}[text.get("text-anchor", "start")]
    corners = [(left, y - FONT_SIZE), (left + width, y - FONT_SIZE), (left + width, y + 3)]
    corners.append((left, y + 3))
    transform = text.get("transform")
    if transform is None:
        return corners
    match = re.fullmatch(r"rotate\((\S+) (\S+) (\S+)\)", transform)
    assert match is not None
    angle, cx, cy = (float(group) for group in match.groups())
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [
        (cx + (px - cx) * cos - (py - cy) * sin, cy + (px - cx) * sin + (py - cy) * cos)
        for px, py in corners
    ]


def overlap(a: list[Point], b: list[Point]) -> bool:
    """Two convex boxes overlap unless one of their edges' normals separates them."""
    for box in (a, b):
        for (x1, y1), (x2, y2) in zip(box, box[1:] + box[:1], strict=True):
            normal = (y2 - y1, x1 - x2)
            on_a = [normal[0] * x + normal[1] * y for x, y in a]
            on_b = [normal[0] * x + normal[1] * y for x, y in b]
            if max(on_a) <= min(on_b) + 1e-9 or max(on_b) <= min(on_a) + 1e-9:
                return False
    return True


def assert_texts_apart_and_inside(root: ET.Element) -> None:
    """No two texts of the picture (legend, tick values, x labels) overlap; none is cut off."""
    boxes = [text_box(text) for text in root.iter(f"{SVG}text")]
    width, height = float(root.get("width", "")), float(root.get("height", ""))
    for box in boxes:
        assert all(0 <= x <= width and 0 <= y <= height for x, y in box), box
    for index, box in enumerate(boxes):
        for other in boxes[index + 1 :]:
            assert not overlap(box, other), (box, other)


def test_the_overlap_check_sees_touching_and_turned_boxes() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert overlap(square, [(x + 9, y + 9) for x, y in square])
    assert not overlap(square, [(x + 10, y) for x, y in square])
    diamond = [(15.0, 5.0), (20.0, 0.0), (25.0, 5.0), (20.0, 10.0)]
    assert not overlap(square, diamond)
    assert overlap(square, [(x - 6, y) for x, y in diamond])


@pytest.mark.parametrize(
    ("low", "high", "whole", "ticks"),
    [
        ("0", "246.90", False, ["0", "50", "100", "150", "200", "250"]),
        ("-2.20", "246.90", False, ["-50", "0", "50", "100", "150", "200", "250"]),
        ("0", "1481.40", False, ["0", "500", "1000", "1500"]),
        ("0.10", "0.10", False, ["0", "0.02", "0.04", "0.06", "0.08", "0.10"]),
        ("-12.10", "1493.60", False, ["-500", "0", "500", "1000", "1500"]),
        ("0", "0", False, ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
        ("0", "1", True, ["0", "1"]),
        ("0", "3", True, ["0", "1", "2", "3"]),
        ("0", "0", True, ["0", "1"]),
        ("0", "37", True, ["0", "10", "20", "30", "40"]),
    ],
)
def test_ticks_are_round_steps_covering_the_values_and_zero(
    low: str, high: str, whole: bool, ticks: list[str]
) -> None:
    assert nice_ticks(D(low), D(high), whole=whole) == [D(tick) for tick in ticks]


def test_a_chart_draws_axis_values_bars_labels_and_legend_where_computed() -> None:
    # Ticks -10..30 by 10 over 200 px: 5 px a unit, zero at y 174; labels fit flat in 40 px.
    root = svg_of(
        bar_chart(
            key="t",
            title="Gross",
            category_name="Month",
            categories=["Jan", "Feb"],
            series=[Series("Gross", (D("30"), D("-10")))],
        )
    )

    assert (root.get("width"), root.get("height"), root.get("role")) == ("119", "246", "img")
    assert root.get("aria-labelledby") == "t-title t-desc"
    assert (root.get("font-family"), root.get("font-size")) == ("monospace", "11")
    assert root.findtext(f"{SVG}title") == "Gross"
    assert root.findtext(f"{SVG}desc") == (
        "Gross by month, 2 bars per series; the y axis runs from -10 to 30. "
        "The table beside the chart lists every figure."
    )
    assert [(t.text, t.get("x"), t.get("y")) for t in texts(root, "y-axis")] == [
        ("-10", "25.0", "228.0"),
        ("0", "25.0", "178.0"),
        ("10", "25.0", "128.0"),
        ("20", "25.0", "78.0"),
        ("30", "25.0", "28.0"),
    ]
    bars = root.findall(f"{SVG}g[@class='bars']/{SVG}rect")
    assert attrs(bars, "x", "y", "width", "height", "fill") == [
        ("36.0", "24.0", "30.0", "150.0", "#0072b2"),
        ("76.0", "174.0", "30.0", "50.0", "#0072b2"),
    ]
    assert [bar.findtext(f"{SVG}title") for bar in bars] == ["Jan, Gross: 30", "Feb, Gross: -10"]
    assert [(t.text, t.get("x"), t.get("y")) for t in texts(root, "x-axis")] == [
        ("Jan", "51.0", "240.0"),
        ("Feb", "91.0", "240.0"),
    ]
    assert [t.text for t in texts(root, "legend")] == ["Gross"]
    assert_texts_apart_and_inside(root)


def test_legend_names_each_series_in_its_bars_colour() -> None:
    root = svg_of(
        bar_chart(
            key="vat-eur",
            title="VAT",
            category_name="Rate",
            categories=["22%", "9.5%"],
            series=[
                Series("Taxable base", (D("100.00"), D("50.00"))),
                Series("Tax", (D("22.00"), D("4.75"))),
            ],
        )
    )

    legend = root.find(f"{SVG}g[@class='legend']")
    assert legend is not None
    assert [(t.text, t.get("y")) for t in legend.findall(f"{SVG}text")] == [
        ("Taxable base", "13"),
        ("Tax", "29"),
    ]
    assert [rect.get("fill") for rect in legend.findall(f"{SVG}rect")] == ["#0072b2", "#e69f00"]
    bars = root.findall(f"{SVG}g[@class='bars']/{SVG}rect")
    assert [(bar.get("fill"), bar.findtext(f"{SVG}title")) for bar in bars] == [
        ("#0072b2", "22%, Taxable base: 100.00"),
        ("#e69f00", "22%, Tax: 22.00"),
        ("#0072b2", "9.5%, Taxable base: 50.00"),
        ("#e69f00", "9.5%, Tax: 4.75"),
    ]
    assert [t.text for t in texts(root, "y-axis")] == ["0", "20", "40", "60", "80", "100"]
    assert_texts_apart_and_inside(root)


def test_twelve_months_stay_flat_in_slots_wide_enough_for_them() -> None:
    months = [f"2024-{month:02d}" for month in range(1, 13)]
    root = svg_of(
        bar_chart(
            key="m",
            title="Gross",
            category_name="Month",
            categories=months,
            series=[Series("Gross", tuple(D(month * 100) for month in range(1, 13)))],
        )
    )

    labels = texts(root, "x-axis")
    assert [label.text for label in labels] == months
    assert {label.get("transform") for label in labels} == {None}
    # The plot starts 45 px in (the widest tick value "1,500" and 10 px); each slot is the
    # label's 49 px and 4 px between neighbours.
    assert [float(label.get("x", "")) for label in labels] == [
        71.5 + 53 * index for index in range(12)
    ]
    assert_texts_apart_and_inside(root)


def test_long_labels_turn_and_all_stay_written_when_turned_ones_fit() -> None:
    routes = [
        f"{seller}→{buyer} 22% intra_eu_b2c"
        for seller in ("AT", "SI")
        for buyer in ("DE", "FR", "HR", "IT")
    ]
    root = svg_of(
        bar_chart(
            key="vat-eur",
            title="VAT",
            category_name="Route",
            categories=routes,
            series=[Series("Taxable base", (D("100.00"),) * 8), Series("Tax", (D("22.00"),) * 8)],
        )
    )

    labels = texts(root, "x-axis")
    assert [label.text for label in labels] == routes
    # 60 px slots; the plot starts 89 px in so the first turned label (154 px) fits on the left.
    assert attrs(labels[:2], "x", "y", "text-anchor", "transform") == [
        ("119.0", "252.0", "end", "rotate(-45 119.0 252.0)"),
        ("179.0", "252.0", "end", "rotate(-45 179.0 252.0)"),
    ]
    assert_texts_apart_and_inside(root)


def test_crowded_labels_are_thinned_to_every_third() -> None:
    sellers = [f"#{number} Seller {number} d.o.o." for number in range(60)]
    root = svg_of(
        bar_chart(
            key="health",
            title="Pending",
            category_name="Seller",
            categories=sellers,
            series=[Series("Pending", tuple(range(60)))],
        )
    )

    assert [label.text for label in texts(root, "x-axis")] == sellers[::3]
    assert len(root.findall(f"{SVG}g[@class='bars']/{SVG}rect")) == 60
    assert_texts_apart_and_inside(root)


def test_long_labels_are_cut_and_escaped_and_the_table_keeps_them_whole() -> None:
    name = "#7 Müller & Söhne Handelsgesellschaft mbH"
    chart = bar_chart(
        key="health",
        title="Pending <and> failed",
        category_name="Seller",
        categories=[name],
        series=[Series("Pending", (3,)), Series("Failed", (0,))],
    )
    assert chart is not None

    assert [t.text for t in texts(svg_of(chart), "x-axis")] == ["#7 Müller & Söhne Hande…"]
    assert '<title id="health-title">Pending &lt;and&gt; failed</title>' in chart.svg
    assert chart.table_rows() == [(name, ["3", "0"])]


def test_repeated_categories_and_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Chart 'v' repeats a category: \['SI 22%', 'SI 22%'\]"):
        bar_chart(
            key="v",
            title="VAT",
            category_name="Rate",
            categories=["SI 22%", "SI 22%"],
            series=[Series("Tax", (D("1.00"), D("2.00")))],
        )
    with pytest.raises(ValueError, match="needs one value per category in every series"):
        bar_chart(
            key="v",
            title="VAT",
            category_name="Rate",
            categories=["SI 22%"],
            series=[Series("Tax", (D("1.00"), D("2.00")))],
        )
    assert bar_chart(key="v", title="VAT", category_name="Rate", categories=[], series=[]) is None


def test_the_table_beside_the_chart_holds_the_same_figures() -> None:
    chart = bar_chart(
        key="gross-eur",
        title="Gross by month, EUR",
        category_name="Month",
        categories=["2024-01", "2024-02"],
        series=[
            Series("Net", (D("1244.50"), D("-9.90"))),
            Series("Gross", (D("1493.60"), D("-12.10"))),
        ],
    )

    html = parse_html(render_to_string("reporting/admin/_bar_chart.html", {"chart": chart}))

    assert (
        parse_html(
            '<table id="gross-eur-table"><caption>Gross by month, EUR: the figures</caption>'
            '<thead><tr><th scope="col">Month</th><th scope="col">Net</th>'
            '<th scope="col">Gross</th></tr></thead><tbody>'
            '<tr><th scope="row">2024-01</th><td style="text-align:right">1,244.50</td>'
            '<td style="text-align:right">1,493.60</td></tr>'
            '<tr><th scope="row">2024-02</th><td style="text-align:right">-9.90</td>'
            '<td style="text-align:right">-12.10</td></tr></tbody></table>'
        )
        in html
    )
    caption = "<strong>Gross by month, EUR</strong>"
    assert (
        html.count(parse_html(f'<figcaption style="flex-basis:100%">{caption}</figcaption>')) == 1
    )

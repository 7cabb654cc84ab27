"""report.html's headline plot and its sample browser (issue #21): the plot's geometry follows the
Decision's numbers, the browser's filters agree with the Decision's per-question oracle, and in
headless Chromium a selected filter hides the other rows (screenshot measured)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import decision
from harness.records import load_records
from harness.report import html, svg
from harness.report.browser import browser, questions
from harness.report.headline import headline_plot, points
from tests.test_report_html import CHROMIUM, chromium, full_run

CIRCLE = re.compile(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5" fill="(#[0-9a-f]+)"[^>]*><title>([^:<]+):')


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return full_run(tmp_path)


def _primary(run: Path) -> dict[str, str]:
    import json

    return json.loads((run / "metrics.json").read_text())["primary"]


def _decision(run: Path) -> decision.Decision:
    return decision.decide(decision.load_inputs(run), decision.cost_settings())


def test_headline_places_each_condition_by_cost_and_quality(run: Path):
    from harness.report import leaderboard
    from harness.records import load_samples
    import json

    made = _decision(run)
    stored = json.loads((run / "metrics.json").read_text())
    frame = leaderboard.build(stored["conditions"], stored["primary"], stored["reference"], load_samples(run))
    chart = headline_plot(frame, made)
    drawn = {m.group(4).removesuffix(" (recommended)"): (float(m.group(1)), float(m.group(2)), m.group(3))
             for m in CIRCLE.finditer(chart)}
    assert set(drawn) == set(made.priced) and f">{made.recommended} (recommended)</text>" in chart
    page_colours = svg.condition_colors(list(frame.index))
    assert all(drawn[c][2] == page_colours[c] for c in drawn)  # each condition in its page colour
    by_mean = sorted(made.priced, key=lambda c: frame.loc[c, "mean"])
    assert [drawn[c][1] for c in by_mean] == sorted((drawn[c][1] for c in by_mean), reverse=True)  # higher = up
    by_cost = sorted(made.priced, key=lambda c: made.priced[c].per_query)
    assert [drawn[c][0] for c in by_cost] == sorted(drawn[c][0] for c in by_cost)  # dearer = right
    assert chart.count("<path d=") == sum(1 for p in points(frame, made) if p.low == p.low)  # one whisker per CI
    assert "no Decision" in headline_plot(frame, None)


def test_browser_filters_agree_with_the_decisions_oracle(run: Path):
    made = _decision(run)
    assert made.arms == ("base+dense", "ft") and made.oracle
    records = load_records(run)
    primary = _primary(run)
    qs = questions(records, primary, made.arms)
    n = made.oracle["questions"]
    assert len(qs) == n
    for who in ("only_rag", "only_ft", "both", "neither"):
        assert sum(who in q.who for q in qs) == round(made.oracle[who] * n), who
    page = browser(records, primary, None, made.arms)
    assert page.count('<tr class="') == n
    assert f"only base+dense right ({round(made.oracle['only_rag'] * n)})" in page
    assert "<script" not in page


def _standalone(body: str, path: Path) -> Path:
    """The browser alone on a page with the report's policy and styles (so it is in the screenshot)."""
    path.write_text(f'<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                    f'content="{html.CSP}"><style>{html.CSS}</style></head><body>{body}</body></html>')
    return path


def _content_bottom(shot: Path) -> int:
    """The lowest pixel row that is not page background."""
    from PIL import Image, ImageChops

    image = Image.open(shot).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, (255, 255, 255))).getbbox()
    return box[3] if box else 0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium); "
                                              "the filter is not checked in a browser")
def test_a_selected_filter_hides_the_other_rows_in_chromium(run: Path, tmp_path: Path):
    pytest.importorskip("PIL", reason="Pillow measures the screenshot")
    made = _decision(run)
    records = load_records(run)
    primary = _primary(run)
    qs = questions(records, primary, made.arms)
    who = [w for w in ("disagree", "only_rag", "only_ft", "both", "neither") if any(w in q.who for q in qs)]
    rarest = min(who, key=lambda w: sum(w in q.who for q in qs))  # a filter that leaves a handful of rows
    assert 0 < sum(rarest in q.who for q in qs) <= 6
    every, log_all = chromium(_standalone(browser(records, primary, None, made.arms), tmp_path / "all.html"),
                              tmp_path, "all")
    few, log_few = chromium(_standalone(browser(records, primary, None, made.arms, checked={"w": who.index(rarest)}),
                                        tmp_path / "few.html"), tmp_path, "few")
    tall, short = _content_bottom(every), _content_bottom(few)
    assert tall > 2000, log_all[-2000:]  # 40 questions fill the 2400-pixel window
    assert 150 < short < tall / 3, (short, tall, log_few[-2000:])  # the filters and a handful of rows


BAR = re.compile(r'<rect x="([\d.]+)" y="([\d.]+)" width="\d+" height="([\d.]+)" fill="(#[0-9a-f]+)"><title>([^<]+)</title>')


def test_bar_heights_are_proportional_to_values_and_whiskers_span_the_interval():
    """The hand-written SVG's geometry (the reason it is kept over a plotting library is in
    docs/architecture.md): bars on a common zero, height linear in the value, whiskers at the CI."""
    values = {("t", "a"): svg.Value(0.25, 0.2, 0.3), ("t", "b"): svg.Value(0.75, 0.7, 0.8),
              ("u", "a"): svg.Value(1.0), ("u", "b"): svg.Value(0.0)}
    chart = svg.bar_chart("x", ["t", "u"], ["a", "b"], values, y_range=(0.0, 1.0))
    bars = {m.group(5).split(":")[0]: (float(m.group(2)), float(m.group(3))) for m in BAR.finditer(chart)}
    full = bars["a · u"][1]
    assert full > 100
    assert bars["a · t"][1] == pytest.approx(full / 4, abs=0.2) and bars["b · t"][1] == pytest.approx(3 * full / 4, abs=0.2)
    bottoms = {round(y + h, 1) for y, h in bars.values() if h > 0.5}
    assert len(bottoms) == 1  # one zero line
    zero = bottoms.pop()
    whiskers = re.findall(r'<path d="M[\d.]+,([\d.]+)V([\d.]+)', chart)
    assert [(float(lo), float(hi)) for lo, hi in whiskers] == [
        pytest.approx((zero - 0.2 * full, zero - 0.3 * full), abs=0.2),
        pytest.approx((zero - 0.7 * full, zero - 0.8 * full), abs=0.2)]


def _no_overlaps(placed: list, points: list[tuple[float, float]], reach: float = 30.0) -> None:
    from harness.report.labels import MARKER_R, Box

    markers = [Box(x - MARKER_R, y - MARKER_R, x + MARKER_R, y + MARKER_R) for x, y in points]
    for i, label in enumerate(placed):
        assert label.box.distance(*points[i]) <= reach, (i, label)  # next to its own point
        assert all(label.box.overlap(m) == 0 for m in markers), (i, label)  # on no marker
        assert all(label.box.overlap(other.box) == 0 for j, other in enumerate(placed) if j != i), (i, label)


def test_labels_of_close_points_stay_by_their_own_point_and_never_overlap():
    """The cost plot's old fault: base's label drawn beside ft's point. Two points 30 px apart on
    one line, a cluster of four within 10 px, and a row of six."""
    from harness.report.labels import Box, place

    bounds = Box(0, 0, 460, 320)
    for points, texts in [
        ([(200, 150), (230, 150)], ["base+dense", "ft"]),
        ([(200, 150), (206, 152), (203, 158), (209, 146)], ["base", "ft", "ft+dense", "base+dense"]),
        ([(60 + 40 * i, 200) for i in range(6)], [f"condition-{i}" for i in range(6)]),
    ]:
        _no_overlaps(place(points, texts, bounds), points)


def test_a_label_near_the_edge_stays_inside_the_chart():
    from harness.report.labels import Box, place

    bounds = Box(0, 0, 460, 320)
    (label,) = place([(455, 5)], ["a long condition name"], bounds)
    assert label.box.inside(bounds) and label.box.distance(455, 5) <= 30


TEXT = re.compile(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)"[^>]*>([^<]+)</text>')


def test_long_task_names_on_the_bar_axis_never_overlap_and_stay_in_the_chart():
    """The x-axis labels of a bar chart (each "task/metric", split after the slash) keep clear
    of each other, of the legend and of the chart's edge, however long the task names."""
    from harness.report.labels import Box, text_box

    groups = ["knowledge_mem/correct", "finance_cls/macro_f1", "medical_update_mc/acc", "general_mc/acc", "mean"]
    series = ["base", "base+dense", "ft", "ft+dense"]
    values = {(g, s): svg.Value(0.1 * (i + 1)) for g in groups for i, s in enumerate(series)}
    chart = svg.bar_chart("x", groups, series, values, y_range=(0.0, 1.0))
    width, height = (float(v) for v in re.search(r'width="(\d+)" height="(\d+)"', chart).groups())
    below_plot = [m for m in TEXT.finditer(chart) if float(m.group(2)) > height - 60 and m.group(3) == "middle"]
    boxes = [text_box(float(m.group(1)), float(m.group(2)), "middle", m.group(4)) for m in below_plot]
    assert {m.group(4) for m in below_plot} >= {"knowledge_mem/", "correct", "finance_cls/", "macro_f1", "mean"}
    legend_top = height - 12 - 9
    for i, box in enumerate(boxes):
        assert box.inside(Box(0, 0, width, height)), below_plot[i].group(4)
        assert box.y1 <= legend_top + 2, below_plot[i].group(4)  # above the legend row
        assert all(box.overlap(other) == 0 for j, other in enumerate(boxes) if j != i), below_plot[i].group(4)

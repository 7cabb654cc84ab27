"""Where a scatter plot's point labels go: next to their own point, never on another label or
another point's marker, inside the plot.

Labels used to be stepped down past the labels above them, which for close points put one
point's name beside the next point (the report's cost plot showed base's label at ft's point).
Now each label tries positions around its own point, nearest first, and takes the first whose
text box is free; a point with no free position nearby gets the least-covered one. Text boxes
are estimated from the font (about 6.5 px per character at 11 px), as a browser would lay them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHAR_W = 6.5  # px per character of the 11 px system font (an estimate; wide enough for digits)
ASCENT, DESCENT = 9.0, 3.0  # px above and below the baseline
MARKER_R = 5.0
NEAR = 8.0  # px between a point and its label's nearest edge, at the first ring of positions


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlap(self, other: "Box") -> float:
        """Area shared with ``other`` (0 when apart)."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0.0

    def inside(self, other: "Box") -> bool:
        return self.x0 >= other.x0 and self.x1 <= other.x1 and self.y0 >= other.y0 and self.y1 <= other.y1

    def distance(self, x: float, y: float) -> float:
        """From the point (x, y) to the nearest point of the box."""
        dx = max(self.x0 - x, 0.0, x - self.x1)
        dy = max(self.y0 - y, 0.0, y - self.y1)
        return (dx * dx + dy * dy) ** 0.5


@dataclass(frozen=True)
class Label:
    """A placed label: SVG text at (x, y) with ``anchor`` (start, middle, end), and its box."""

    x: float
    y: float
    anchor: str
    box: Box


def text_box(x: float, y: float, anchor: str, text: str) -> Box:
    width = CHAR_W * len(text)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, y - ASCENT, left + width, y + DESCENT)


def candidates(x: float, y: float, text: str, rings: int = 4) -> list[Label]:
    """Positions around (x, y), nearest first: right, left, above, below, then the diagonals,
    each ring a few pixels further out."""
    out = []
    for ring in range(rings):
        d = NEAR + 7.0 * ring
        for lx, ly, anchor in ((x + d, y + 4, "start"), (x - d, y + 4, "end"), (x, y - d - DESCENT, "middle"),
                               (x, y + d + ASCENT, "middle"), (x + d, y - d, "start"), (x - d, y - d, "end"),
                               (x + d, y + d + ASCENT - 4, "start"), (x - d, y + d + ASCENT - 4, "end")):
            out.append(Label(lx, ly, anchor, text_box(lx, ly, anchor, text)))
    return out


def place(points: Sequence[tuple[float, float]], texts: Sequence[str], bounds: Box) -> list[Label]:
    """One label per point, in order (earlier points choose first)."""
    markers = [Box(x - MARKER_R, y - MARKER_R, x + MARKER_R, y + MARKER_R) for x, y in points]
    placed: list[Label] = []
    for (x, y), text in zip(points, texts):
        def covered(label: Label) -> float:
            return (sum(label.box.overlap(p.box) for p in placed) + sum(label.box.overlap(m) for m in markers)
                    + (0.0 if label.box.inside(bounds) else 1e6))
        options = candidates(x, y, text)
        free = next((c for c in options if covered(c) == 0.0), None)
        placed.append(free if free is not None else min(options, key=covered))
    return placed


__all__ = ["Box", "Label", "candidates", "place", "text_box"]

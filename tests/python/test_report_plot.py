"""`ziq plot` geometry against numpy: the SVG is parsed with xml.etree (so it must be well-formed
XML), the axes are recovered from the tick labels (pixel position -> value, fitted here with
numpy.polyfit), and every point must sit at its model's (BPC, score %) and the drawn line on
numpy's least-squares line, to within the rounding of the coordinates (0.1 px)."""
import csv
import os
import subprocess
import xml.etree.ElementTree as ET

import numpy as np

ZIQ = os.environ.get("ZIQ_BIN", "ziq")
PAPER_CSV = os.path.join(os.environ.get("ZIQ_SHARED_DATA", "../../../shared/data"), "paper", "paper_results.csv")
NS = {"s": "http://www.w3.org/2000/svg"}


def paper_sample(score, bpc):
    with open(PAPER_CSV, newline="", encoding="utf-8") as f:
        f.readline()
        rows = [r for r in csv.DictReader(f) if r["source"] == "paper_v2_appendix" and r[score] and r[bpc]]
    return [r["model_key"] for r in rows], np.array([float(r[bpc]) for r in rows]), \
        np.array([float(r[score]) for r in rows])


def axis_map(texts, anchor, coord):
    ticks = [(float(t.get(coord)), float(t.text)) for t in texts if t.get("text-anchor") == anchor]
    assert len(ticks) >= 3
    values = [v for _, v in ticks]
    assert values == sorted(values), "tick labels increase"
    px = np.array([p for p, _ in ticks]) - (4 if anchor == "end" else 0)  # y labels sit 4 px below their tick
    slope, intercept = np.polyfit(px, values, 1)
    assert np.allclose(slope * px + intercept, values, atol=1e-9 + abs(slope) * 0.11)
    return lambda p: slope * p + intercept, abs(slope)


def test_points_and_line_are_where_numpy_puts_them(tmp_path):
    out = tmp_path / "coding.svg"
    subprocess.run([ZIQ, "-q", "plot", "--scores", PAPER_CSV, "--where", "source=paper_v2_appendix", "--percent",
                    "--pair", "coding_avg=bpc_python", "-o", str(out)], check=True)
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = root.findall(".//s:text[@class='tick']", NS)
    to_x, x_per_px = axis_map(texts, "middle", "x")
    to_y, y_per_px = axis_map(texts, "end", "y")

    models, x, y = paper_sample("coding_avg", "bpc_python")
    circles = root.findall(".//s:circle[@class='point']", NS)
    labels = [t.text for t in root.findall(".//s:text[@class='label']", NS)]
    assert labels == models and len(circles) == len(models) == 28
    for c, bx, sy in zip(circles, x, y):
        assert abs(to_x(float(c.get("cx"))) - bx) <= 0.06 * x_per_px + 1e-9
        assert abs(to_y(float(c.get("cy"))) - sy) <= 0.06 * y_per_px + 1e-9

    slope, intercept = np.polyfit(x, y / 100, 1)
    line = root.find(".//s:line[@class='fit']", NS)
    for xa, ya in (("x1", "y1"), ("x2", "y2")):
        bx, sy = to_x(float(line.get(xa))), to_y(float(line.get(ya)))
        assert abs((intercept + slope * bx) * 100 - sy) <= 0.06 * y_per_px + 0.06 * x_per_px * abs(slope) * 100
    r = np.corrcoef(x, y)[0, 1]
    rmse = np.sqrt(np.mean((y / 100 - (intercept + slope * x)) ** 2))
    corner = " ".join(t.text for t in root.findall(".//s:g[@class='stats']/s:text", NS))
    assert "Pearson r = %.3f" % r in corner and "RMSE = %.2f%%" % (rmse * 100) in corner and "n = 28" in corner


def test_grid_of_the_four_panels_is_valid_xml(tmp_path):
    out = tmp_path / "grid.svg"
    subprocess.run([ZIQ, "-q", "plot", "--scores", PAPER_CSV, "--where", "source=paper_v2_appendix", "--percent",
                    "-o", str(out)], check=True)
    root = ET.parse(out).getroot()
    panels = root.findall("s:svg", NS)
    assert len(panels) == 4
    ids = [c.get("id") for c in root.iter("{http://www.w3.org/2000/svg}clipPath")]
    assert len(set(ids)) == 4, "clip-path ids are unique across panels"

"""`ziq report` renders: the page is opened in headless Chromium (Debian package `chromium`,
installed by scripts/setup.sh), and the test checks from Chromium's DOM (--dump-dom) that the
leaderboard, the correlation table and one SVG plot per panel with one circle per model are there
(the counts come from `ziq correlate --json` and from Python's csv module), and from Chromium's
screenshot (--screenshot, decoded here with a small PNG reader on zlib) that the page is not blank
and that the plots' blue points and red fitted lines were painted. The page must hold no
reference to anything outside itself.
"""
import csv
import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

ZIQ = os.environ.get("ZIQ_BIN", "ziq")
PAPER_CSV = os.path.join(os.environ.get("ZIQ_SHARED_DATA", "../../../shared/data"), "paper", "paper_results.csv")
SELECT = ["--where", "source=paper_v2_appendix", "--percent",
          "--exclude", "math_avg:Qwen-7b", "--exclude", "math_avg:Qwen-14b", "--exclude", "math_avg:Qwen-72b"]
POINT_BLUE = (0x1F, 0x77, 0xB4)
LINE_RED = (0xD6, 0x27, 0x28)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium not found: scripts/setup.sh installs Debian's `chromium` package")


def run_chromium(tmp_path, *args):
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--user-data-dir=" + str(tmp_path / "profile"), "--no-first-run", "--disable-extensions"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


class Elements(HTMLParser):
    """Collects (tag, attributes, ancestors) for every start tag of the DOM Chromium dumped."""

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.found.append((tag, a, list(self.stack)))
        if tag not in ("meta", "br", "rect", "line", "circle", "path", "img", "input", "link"):
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.found.append((tag, dict(attrs), list(self.stack)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def read_png(path):
    """Decodes an 8-bit, non-interlaced RGB/RGBA PNG into rows of (r, g, b) tuples."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0 and color in (2, 6), ihdr
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def near(px, rgb, tol=40):
    return all(abs(p - q) <= tol for p, q in zip(px, rgb))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    html = tmp / "report.html"
    subprocess.run([ZIQ, "-q", "report", "--scores", PAPER_CSV, "-o", str(html)] + SELECT, check=True)
    stats = json.loads(subprocess.run([ZIQ, "--json", "correlate", "--scores", PAPER_CSV] + SELECT,
                                      capture_output=True, text=True, check=True).stdout)
    return tmp, html, stats


def test_page_is_self_contained(report):
    _, html, _ = report
    text = html.read_text(encoding="utf-8")
    parser = Elements()
    parser.feed(text)
    for tag, attrs, _ in parser.found:
        assert tag not in ("script", "link", "img", "iframe"), tag
        for k, v in attrs.items():
            if k in ("src", "href") or (k == "xmlns" and v != "http://www.w3.org/2000/svg"):
                pytest.fail("external reference %s=%s" % (k, v))
    assert "url(http" not in text and "@import" not in text


def test_dom_has_the_tables_and_plots(report):
    tmp, html, stats = report
    dom = run_chromium(tmp, "--dump-dom", html.as_uri())
    parser = Elements()
    parser.feed(dom)
    svgs = [a for t, a, _ in parser.found if t == "svg" and a.get("class") == "ziq-plot"]
    assert len(svgs) == len(stats["pairs"]) == 4
    # Circles per plot, in page order, equal the n of each fit.
    per_plot = []
    for tag, attrs, stack in parser.found:
        if tag == "circle" and attrs.get("class") == "point":
            owner = [id(a) for t, a in stack if t == "svg" and a.get("class") == "ziq-plot"]
            assert owner, "a point outside any plot"
            if not per_plot or per_plot[-1][0] != owner[-1]:
                per_plot.append([owner[-1], 0])
            per_plot[-1][1] += 1
    assert [n for _, n in per_plot] == [p["n"] for p in stats["pairs"]]
    assert sum(1 for t, a, _ in parser.found if t == "line" and a.get("class") == "fit") == 4
    # Leaderboard: one row per paper model (Python's csv module counts them), plus the header row.
    with open(PAPER_CSV, newline="", encoding="utf-8") as f:
        f.readline()
        paper_models = [r for r in csv.DictReader(f) if r["source"] == "paper_v2_appendix"]
    rows = [stack for t, _, stack in parser.found if t == "tr" and any(
        s[0] == "table" and s[1].get("class") == "leaderboard" for s in stack)]
    assert len(rows) == len(paper_models) + 1
    corr_rows = [1 for t, _, stack in parser.found if t == "tr" and any(
        s[0] == "table" and s[1].get("class") == "correlation" for s in stack)]
    assert len(corr_rows) == 1 + 4
    assert "Protocol:" in dom


def test_screenshot_is_not_blank_and_shows_plots(report):
    tmp, html, _ = report
    png = tmp / "shot.png"
    run_chromium(tmp, "--screenshot=" + str(png), "--window-size=1240,2300", html.as_uri())
    width, height, rows = read_png(str(png))
    assert (width, height) == (1240, 2300)
    pixels = [px for row in rows[::2] for px in row[::2]]  # every other pixel is plenty
    non_white = sum(1 for px in pixels if px != (255, 255, 255))
    blue = sum(1 for px in pixels if near(px, POINT_BLUE))
    red = sum(1 for px in pixels if near(px, LINE_RED))
    assert non_white > 0.03 * len(pixels), non_white
    assert blue > 4 * 85, blue    # 85 points of about 50 px each, sampled at 1/4
    assert red > 4 * 100, red     # four fitted lines, 2 px wide, a few hundred px long


def test_leaderboard_only_report(tmp_path):
    html = tmp_path / "lb.html"
    subprocess.run([ZIQ, "-q", "report", "--bpc", PAPER_CSV, "--bpc-where", "source=repo_readme_leaderboard",
                    "-o", str(html)], check=True)
    parser = Elements()
    parser.feed(html.read_text(encoding="utf-8"))
    with open(PAPER_CSV, newline="", encoding="utf-8") as f:
        f.readline()
        n = sum(1 for r in csv.DictReader(f) if r["source"] == "repo_readme_leaderboard")
    rows = [1 for t, _, stack in parser.found if t == "tr" and any(s[1].get("class") == "leaderboard" for s in stack)]
    assert len(rows) == n + 1
    assert not [1 for t, a, _ in parser.found if t == "svg"]

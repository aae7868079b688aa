"""`ziq correlate` on the paper's own numbers, against scipy.stats and numpy on the same rows.

Input: $ZIQ_SHARED_DATA/paper/paper_results.csv (every per-model number of arXiv 2404.09937v2's
appendix, plus two leaderboards; its first line explains the columns). The paper's fits use the
rows of source paper_v2_appendix; scores are percentages and the paper fits fractions of 1; the
CSV's notes column says which models were in which fit: code models in the coding panel only, math
models in the maths panel only (their other cells are empty), and Qwen-7b/14b/72b left out of the
maths fit ("excluded from math-area fit (MIN-K% contamination outlier)").

The rows are read here with Python's csv module, independently of ziq; every statistic ziq prints
is recomputed with scipy/numpy on those rows and must agree to 1e-9. The bootstrap is recomputed
exactly: a pure-Python std::mt19937_64 (checked against the C++ standard's 10000th-output value)
drawing indices engine() % n, and numpy's percentile.
"""
import csv
import json
import os
import subprocess

import numpy as np
import pytest
from scipy import stats

ZIQ = os.environ.get("ZIQ_BIN", "ziq")
PAPER_CSV = os.path.join(os.environ.get("ZIQ_SHARED_DATA", "../../../shared/data"), "paper", "paper_results.csv")
TOL = 1e-9
SEED = 1234
RESAMPLES = 2000

MATH_EXCLUDED = ["Qwen-7b", "Qwen-14b", "Qwen-72b"]
PANELS = {  # title -> (score columns averaged, bpc columns averaged)
    "Knowledge and commonsense": (["knowledge_avg"], ["bpc_cc"]),
    "Coding": (["coding_avg"], ["bpc_python"]),
    "Mathematical reasoning": (["math_avg"], ["bpc_arxiv_math"]),
    "Average": (["knowledge_avg", "coding_avg", "math_avg"], ["bpc_cc", "bpc_python", "bpc_arxiv_math"]),
}


def run_ziq(*extra, seed=SEED, check=True):
    args = [ZIQ, "--json", "correlate", "--scores", PAPER_CSV, "--where", "source=paper_v2_appendix",
            "--percent", "--seed", str(seed), "--resamples", str(RESAMPLES)]
    for m in MATH_EXCLUDED:
        args += ["--exclude", "math_avg:" + m]
    p = subprocess.run(args + list(extra), capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def paper_rows():
    with open(PAPER_CSV, newline="", encoding="utf-8") as f:
        first = f.readline()
        assert first.startswith("#"), "the file's first line is its column explanation"
        rows = list(csv.DictReader(f))
    return [r for r in rows if r["source"] == "paper_v2_appendix"]


def panel_sample(rows, title):
    score_cols, bpc_cols = PANELS[title]
    models, x, y = [], [], []
    for r in rows:
        if title == "Mathematical reasoning" and r["model_key"] in MATH_EXCLUDED:
            continue
        cells = [r[c] for c in score_cols + bpc_cols]
        if any(c.strip() == "" for c in cells):
            continue
        models.append(r["model_key"])
        y.append(np.mean([float(r[c]) for c in score_cols]) / 100.0)
        x.append(np.mean([float(r[c]) for c in bpc_cols]))
    return models, np.array(x), np.array(y)


class MT19937_64:
    """std::mt19937_64 as the C++ standard defines it ([rand.predef]), in plain Python."""
    N, M, A = 312, 156, 0xB5026F5AA96619E9
    MASK = (1 << 64) - 1
    LOWER = (1 << 31) - 1
    UPPER = MASK ^ LOWER

    def __init__(self, seed):
        self.mt = [seed & self.MASK]
        for i in range(1, self.N):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.MASK)
        self.i = self.N

    def _twist(self):
        mt, N, M = self.mt, self.N, self.M
        for k in range(N):
            x = (mt[k] & self.UPPER) | (mt[(k + 1) % N] & self.LOWER)
            xa = x >> 1
            if x & 1:
                xa ^= self.A
            mt[k] = mt[(k + M) % N] ^ xa
        self.i = 0

    def __call__(self):
        if self.i >= self.N:
            self._twist()
        y = self.mt[self.i]
        self.i += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & self.MASK


def test_python_mt19937_64_is_the_standard_one():
    e = MT19937_64(5489)
    for _ in range(9999):
        e()
    assert e() == 9981545732273789042  # the value the C++ standard requires


def bootstrap_interval(x, y, seed, resamples, level=0.95):
    n = len(x)
    e = MT19937_64(seed)
    idx = np.array([[e() % n for _ in range(n)] for _ in range(resamples)])
    bx, by = x[idx], y[idx]
    dx = bx - bx.mean(axis=1, keepdims=True)
    dy = by - by.mean(axis=1, keepdims=True)
    sxx, syy, sxy = (dx * dx).sum(1), (dy * dy).sum(1), (dx * dy).sum(1)
    ok = (sxx > 0) & (syy > 0)
    r = np.clip(sxy[ok] / np.sqrt(sxx[ok] * syy[ok]), -1, 1)
    q = [50 * (1 - level), 50 * (1 + level)]
    low, high = np.percentile(r, q)
    return low, high, int(ok.sum()), int((~ok).sum())


@pytest.fixture(scope="module")
def ziq_result():
    return json.loads(run_ziq().stdout)


def test_matching_is_reported(ziq_result):
    rows = paper_rows()
    assert [m["model"] for m in ziq_result["matched"]] == [r["model_key"] for r in rows]
    assert ziq_result["unmatched_scores"] == [] and ziq_result["unmatched_bpc"] == []
    # Every row of the other sources is listed as left out by --where, none silently.
    with open(PAPER_CSV, newline="", encoding="utf-8") as f:
        f.readline()
        total = sum(1 for _ in csv.DictReader(f))
    skipped = ziq_result["scores"]["skipped"]
    assert len(skipped) == total - len(rows)
    assert all(s["by_where_filter"] for s in skipped)


@pytest.mark.parametrize("title", list(PANELS))
def test_panel_against_scipy(ziq_result, title):
    pair = next(p for p in ziq_result["pairs"] if p["title"] == title)
    models, x, y = panel_sample(paper_rows(), title)
    assert pair["models"] == models
    assert pair["n"] == len(models)
    np.testing.assert_allclose(pair["bpc_values"], x, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pair["score_values"], y, rtol=0, atol=1e-15)
    # Every matched model not in the fit is listed with a reason.
    matched = {m["model"] for m in ziq_result["matched"]}
    assert {e["model"] for e in pair["excluded"]} == matched - set(models)
    for e in pair["excluded"]:
        if e["model"] in MATH_EXCLUDED and title == "Mathematical reasoning":
            assert e["reason"] == "excluded by --exclude"
        else:
            assert "empty" in e["reason"]

    assert abs(pair["pearson"] - stats.pearsonr(x, y).statistic) < TOL
    assert abs(pair["spearman"] - stats.spearmanr(x, y).statistic) < TOL
    assert abs(pair["kendall_tau_b"] - stats.kendalltau(x, y).statistic) < TOL  # tau-b is scipy's default
    lr = stats.linregress(x, y)
    assert abs(pair["slope"] - lr.slope) < TOL
    assert abs(pair["intercept"] - lr.intercept) < TOL
    resid = y - (lr.intercept + lr.slope * x)
    assert abs(pair["r2"] - (1 - (resid ** 2).sum() / ((y - y.mean()) ** 2).sum())) < TOL
    assert abs(pair["r2"] - lr.rvalue ** 2) < TOL
    assert abs(pair["rmse"] - np.sqrt(np.mean(resid ** 2))) < TOL  # over n, as the paper
    assert abs(pair["mae"] - np.mean(np.abs(resid))) < TOL

    # Leave-one-out: refit with numpy.polyfit without each point.
    loo = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        slope, intercept = np.polyfit(x[keep], y[keep], 1)
        loo.append(intercept + slope * x[i])
    loo = np.array(loo)
    np.testing.assert_allclose(pair["loo_predictions"], loo, rtol=0, atol=TOL)
    assert abs(pair["loo_rmse"] - np.sqrt(np.mean((y - loo) ** 2))) < TOL
    assert abs(pair["loo_mae"] - np.mean(np.abs(y - loo))) < TOL

    # Bootstrap: recomputed exactly from the documented scheme; the interval holds r.
    low, high, used, degenerate = bootstrap_interval(x, y, SEED, RESAMPLES)
    ci = pair["pearson_ci"]
    assert abs(ci["low"] - low) < TOL and abs(ci["high"] - high) < TOL
    assert (ci["resamples_used"], ci["resamples_degenerate"]) == (used, degenerate)
    assert ci["low"] <= pair["pearson"] <= ci["high"]


def test_bootstrap_is_reproducible_and_seeded(ziq_result):
    again = json.loads(run_ziq().stdout)
    other = json.loads(run_ziq(seed=SEED + 1).stdout)
    for a, b, c in zip(ziq_result["pairs"], again["pairs"], other["pairs"]):
        assert a["pearson_ci"] == b["pearson_ci"]
        assert a["pearson"] == c["pearson"]
        assert a["pearson_ci"] != c["pearson_ci"]


def test_close_to_the_paper(ziq_result):
    """Loose check against the paper's claim (DESIGN.md: across the public LLMs, Pearson |r| about
    0.9 to 0.95, negative: lower BPC, higher scores). The CSV does not carry the figure's printed r
    values, so the band is [-0.97, -0.89] for each of the four panels; the line's slope must be
    negative and the RMSE a few points (under 0.06 as a fraction)."""
    for p in ziq_result["pairs"]:
        assert -0.97 <= p["pearson"] <= -0.89, (p["title"], p["pearson"])
        assert p["slope"] < 0
        assert p["rmse"] < 0.06


def test_percent_or_fraction_must_be_said():
    p = subprocess.run([ZIQ, "correlate", "--scores", PAPER_CSV, "--where", "source=paper_v2_appendix"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "--percent" in p.stderr and "looks like percent" in p.stderr
    p = subprocess.run([ZIQ, "correlate", "--scores", PAPER_CSV, "--where", "source=paper_v2_appendix",
                        "--fraction"], capture_output=True, text=True)
    assert p.returncode == 3 and "outside 0..1" in p.stderr


def test_duplicate_names_without_a_filter_are_refused_per_row():
    p = subprocess.run([ZIQ, "correlate", "--scores", PAPER_CSV, "--percent"], capture_output=True, text=True)
    assert p.returncode == 3
    # Qwen-7b is on lines 8 (paper), 55 (repo README) and 68 (OpenCompass) of the file.
    assert "'Qwen-7b' on %s:8 %s:55 %s:68" % (PAPER_CSV, PAPER_CSV, PAPER_CSV) in p.stderr


def test_import_then_correlate_from_the_store(tmp_path, ziq_result):
    db = str(tmp_path / "results.sqlite")
    p = subprocess.run([ZIQ, "results", "import", PAPER_CSV, "--db", db, "--where", "source=paper_v2_appendix",
                        "--protocol", "paper", "--context", "1900", "--stride", "512"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "imported 31 run(s)" in p.stdout
    runs = json.loads(subprocess.run([ZIQ, "results", "--db", db, "--json"], capture_output=True, text=True,
                                     check=True).stdout)["runs"]
    assert len(runs) == 31 and all(r["status"] == "imported" and r["source"].startswith("imported:") for r in runs)
    by_model = {r["model_name"]: {s["subset"]: s["bpc"] for s in r["subsets"]} for r in runs}
    for r in paper_rows():
        for col in ("bpc_cc", "bpc_python", "bpc_arxiv_math"):
            if r[col]:
                assert by_model[r["model_key"]][col[4:]] == float(r[col])
    # Re-importing replaces instead of doubling.
    subprocess.run([ZIQ, "results", "import", PAPER_CSV, "--db", db, "--where", "source=paper_v2_appendix"],
                   capture_output=True, check=True)
    out = subprocess.run([ZIQ, "results", "--db", db, "--format", "csv"], capture_output=True, text=True, check=True)
    assert len(out.stdout.strip().splitlines()) == 1 + 31
    from_store = json.loads(run_ziq("--db", db).stdout)
    for a, b in zip(ziq_result["pairs"], from_store["pairs"]):
        assert a["models"] == b["models"]
        assert abs(a["pearson"] - b["pearson"]) < TOL and abs(a["rmse"] - b["rmse"]) < TOL

"""Resuming `ziq eval` (on the built-in model): a run killed with SIGKILL (and one stopped with Ctrl-C) midway, then given
again, ends with exactly the figures of an uninterrupted run (same bits, checked on the JSON's
floats), and the database says windows were reused. The peer is Python's sqlite3 reading the
progress table while ziq runs, and the uninterrupted run itself."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

ZIQ = os.environ["ZIQ_BIN"]
TEST_DATA = os.environ["ZIQ_TEST_DATA"]
SOURCE = os.environ["ZIQ_SOURCE_DIR"]
MODEL = os.path.join(SOURCE, "data", "default-model")  # the built-in model, by path
CORPUS = os.path.join(SOURCE, "data", "sample", "sample.jsonl")
# Small windows, one per batch: thousands of commits, so a kill lands mid-run.
ARGS = ["eval", "--model", MODEL, "--corpus", CORPUS, "--context", "48", "--stride", "32",
        "--batch", "1", "--threads", "1", "--json"]


def ziq_eval(db, *extra):
    out = subprocess.run([ZIQ, *ARGS, "--db", str(db), *extra], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def finished_windows(db):
    if not os.path.exists(db):
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = con.execute("SELECT count(*) FROM eval_progress_windows").fetchone()[0]
        con.close()
        return n
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def start_and_stop(db, sig, min_windows):
    p = subprocess.Popen([ZIQ, *ARGS, "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while finished_windows(db) < min_windows:
        assert p.poll() is None, "ziq finished before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.01)
    p.send_signal(sig)
    out, err = p.communicate(timeout=300)
    return p.returncode, out, err


def same_figures(a, b):
    assert [s["subset"] for s in a["subsets"]] == [s["subset"] for s in b["subsets"]]
    for x, y in zip(a["subsets"], b["subsets"]):
        for k in ("nats", "bpc", "bits_per_byte", "characters", "bytes", "tokens", "scored_tokens", "windows"):
            assert x[k] == y[k], (x["subset"], k, x[k], y[k])  # exact: the same f64 bits
    for k in ("average_bpc", "pooled_bpc", "nats"):
        assert a["overall"][k] == b["overall"][k], k


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return ziq_eval(tmp_path_factory.mktemp("whole") / "r.sqlite")


def test_sigkill_then_resume(uninterrupted, tmp_path):
    db = tmp_path / "r.sqlite"
    total = uninterrupted["overall"]["windows"]
    assert total > 1000
    rc, _, _ = start_and_stop(db, signal.SIGKILL, total // 4)
    assert rc == -signal.SIGKILL
    saved = finished_windows(db)
    assert total // 4 <= saved < total
    resumed = ziq_eval(db)
    assert resumed["overall"]["resumed_windows"] == saved
    same_figures(resumed, uninterrupted)
    # A third run finds every window done and gives the same figures again.
    again = ziq_eval(db)
    assert again["overall"]["resumed_windows"] == total
    same_figures(again, uninterrupted)
    con = sqlite3.connect(db)
    runs = con.execute("SELECT count(*), count(DISTINCT run_key) FROM runs WHERE status = 'finished'").fetchone()
    assert runs == (2, 1)
    nats = con.execute("SELECT nats FROM run_subsets s JOIN runs r ON r.id = s.run_id WHERE s.subset = '*' "
                       "ORDER BY r.id LIMIT 1").fetchone()[0]
    assert nats == uninterrupted["overall"]["nats"]


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"),
                                              (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_ctrl_c_or_sigterm_stops_and_resumes(uninterrupted, tmp_path, sig, code, said):
    """Ctrl-C exits 130, SIGTERM (kill, a batch system's limit) 143: both after the batch in flight,
    saying so and that the finished windows are kept."""
    db = tmp_path / "r.sqlite"
    total = uninterrupted["overall"]["windows"]
    rc, out, err = start_and_stop(db, sig, total // 3)
    assert rc == code, err
    assert said in err and "finished windows are saved" in err and "resume" in err and out == ""
    saved = finished_windows(db)
    assert 0 < saved < total
    resumed = ziq_eval(db)
    assert resumed["overall"]["resumed_windows"] == saved
    same_figures(resumed, uninterrupted)


def test_no_resume_recomputes(uninterrupted, tmp_path):
    db = tmp_path / "r.sqlite"
    rc, _, _ = start_and_stop(db, signal.SIGKILL, 100)
    fresh = ziq_eval(db, "--no-resume")
    assert fresh["overall"]["resumed_windows"] == 0
    same_figures(fresh, uninterrupted)

"""Data parallel `ziq eval` over MPI ranks on one machine (Open MPI's mpirun, from Debian): 2 and
3 ranks give the one-process run's figures bit for bit (the peer is the one-process run; the
floats are compared as the JSON's exact f64 values), rank 0 alone writes the database (one run
row), and a rank killed with SIGKILL mid-run ends the job, whose rerun resumes from what rank 0
committed and again gives the same bits."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

ZIQ = os.environ["ZIQ_BIN"]
SOURCE = os.environ["ZIQ_SOURCE_DIR"]
MODEL = os.path.join(SOURCE, "data", "default-model")
CORPUS = os.path.join(SOURCE, "data", "sample", "sample.jsonl")
ARGS = ["eval", "--model", MODEL, "--corpus", CORPUS, "--context", "48", "--stride", "32", "--batch", "2",
        "--threads", "1", "--json"]
MPIRUN = shutil.which("mpirun")
# Open MPI refuses root without these (CI runs as root); --oversubscribe: more ranks than cores.
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader")


def mpi(ranks, db, *extra):
    return [MPIRUN, "--oversubscribe", "-np", str(ranks), ZIQ, *ARGS, "--db", str(db), *extra]


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def same_figures(a, b):
    for x, y in zip(a["subsets"], b["subsets"], strict=True):
        for k in ("subset", "nats", "bpc", "bits_per_byte", "tokens", "scored_tokens", "windows"):
            assert x[k] == y[k], (x["subset"], k, x[k], y[k])
    for k in ("average_bpc", "pooled_bpc", "nats"):
        assert a["overall"][k] == b["overall"][k], k


def finished_windows(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = con.execute("SELECT count(*) FROM eval_progress_windows").fetchone()[0]
        con.close()
        return n
    except sqlite3.OperationalError:  # not created yet
        return 0


def rank_pids(rank):
    """Processes of ziq whose MPI rank (from their environment) is `rank`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if os.path.basename(exe) == "ziq" and f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            pids.append(int(pid))
    return pids


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    j = run_json([ZIQ, *ARGS, "--db", str(tmp_path_factory.mktemp("one") / "r.sqlite")])
    assert j["ranks"] == 1
    return j


def test_mpirun_is_installed():
    assert MPIRUN, "mpirun not found: scripts/setup.sh installs openmpi-bin"


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_equal_one_process(one_process, tmp_path, ranks):
    db = tmp_path / "r.sqlite"
    j = run_json(mpi(ranks, db))
    assert j["ranks"] == ranks
    same_figures(j, one_process)
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM eval_progress_windows").fetchone()[0] == one_process["overall"]["windows"]


def test_killed_rank_then_rerun_resumes(one_process, tmp_path):
    db = tmp_path / "r.sqlite"
    total = one_process["overall"]["windows"]
    p = subprocess.Popen(mpi(2, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 300
    while finished_windows(db) < total // 4:
        assert p.poll() is None, "the job finished before a rank could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    victims = rank_pids(1)
    assert len(victims) == 1, victims
    os.kill(victims[0], signal.SIGKILL)
    p.communicate(timeout=120)
    assert p.returncode != 0
    saved = finished_windows(db)
    assert 0 < saved < total
    resumed = run_json(mpi(2, db))
    assert resumed["overall"]["resumed_windows"] == saved
    same_figures(resumed, one_process)

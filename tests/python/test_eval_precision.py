"""`--precision bf16` on a CPU without bfloat16 arithmetic (AVX-512 hidden with ZIQ_CPU=avx2, as on
an AVX2-only machine) computes in float32 and says so: the run's notes say it, the JSON's
precision and the stored run's backend are f32, and the figures are bit-identical to a plain f32 run's (the peer is the
f32 run itself). It never stores f32 numbers under a bf16 label."""
import json
import os
import sqlite3
import subprocess

ZIQ = os.environ["ZIQ_BIN"]
TEST_DATA = os.environ["ZIQ_TEST_DATA"]
SOURCE = os.environ["ZIQ_SOURCE_DIR"]
MODEL = os.path.join(TEST_DATA, "models", "mistral")
CORPUS = os.path.join(SOURCE, "data", "sample", "sample.jsonl")


def run(tmp_path, *extra):
    env = dict(os.environ, ZIQ_CPU="avx2")
    out = subprocess.run([ZIQ, "eval", "--model", MODEL, "--corpus", CORPUS, "--context", "128", "--stride", "64",
                          "--backend", "cpu", "--threads", "1", "--db", str(tmp_path / "r.sqlite"), "--no-resume",
                          "--json", *extra], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def test_bf16_without_bf16_units_is_labelled_f32(tmp_path):
    f32, _ = run(tmp_path, "--precision", "f32")
    bf16, err = run(tmp_path, "--precision", "bf16")
    assert any("--precision bf16" in n and "computed in f32" in n for n in bf16["notes"]), bf16["notes"]
    assert bf16["precision"] == "f32" and "avx2" in bf16["backend"], bf16
    assert [s["nats"] for s in bf16["subsets"]] == [s["nats"] for s in f32["subsets"]]
    con = sqlite3.connect(tmp_path / "r.sqlite")
    runs = con.execute("SELECT backend, notes FROM runs").fetchall()
    assert len(runs) == 2 and all(b.endswith("(avx2-f32)") and "compute precision bf16" not in n for b, n in runs), runs

"""The run key of `ziq eval` covers the weights' content and the ziq build: two checkpoints with the
same config.json and the same safetensors headers but different weights, scored into one database,
get different keys and different BPC (before, the second resumed the first's windows). Editing a
checkpoint in place (same size) is seen too: a cached hash is keyed by the file's stamp
(tests/store/test_file_hashes.cpp tests the cache itself)."""
import shutil
import sqlite3

from ziq_run import copy_model, small_corpus, write_tensor_bytes, ziq_json

ARGS = ["--context", "64", "--stride", "32", "--threads", "1"]
BF16_TWO = b"\x00\x40"  # 2.0 in bfloat16, little-endian


def test_same_headers_different_weights(tmp_path):
    corpus = small_corpus(tmp_path / "c.jsonl")
    a = copy_model(tmp_path / "a")
    b = copy_model(tmp_path / "b")
    write_tensor_bytes(b / "model.safetensors", "model.norm.weight", BF16_TWO)
    db = tmp_path / "r.sqlite"
    ra = ziq_json("eval", "--model", a, "--corpus", corpus, "--db", db, *ARGS)
    rb = ziq_json("eval", "--model", b, "--corpus", corpus, "--db", db, *ARGS)
    assert ra["model"]["fingerprint"] == rb["model"]["fingerprint"]  # config and headers only
    assert ra["model"]["weights_hash"] != rb["model"]["weights_hash"]
    assert ra["run_key"] != rb["run_key"]
    assert rb["overall"]["resumed_windows"] == 0
    assert ra["overall"]["average_bpc"] != rb["overall"]["average_bpc"]

    # a's file rewritten in place with b's bytes: same size, new stamp, so hashed again; it is now
    # b's checkpoint, and resumes b's windows with b's figures.
    shutil.copyfile(b / "model.safetensors", a / "model.safetensors")
    ra2 = ziq_json("eval", "--model", a, "--corpus", corpus, "--db", db, *ARGS)
    assert ra2["model"]["weights_hash"] == rb["model"]["weights_hash"]
    assert ra2["run_key"] == rb["run_key"]
    assert ra2["overall"]["average_bpc"] == rb["overall"]["average_bpc"]

    # The key text names the build and the weights.
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT key_json FROM eval_progress_runs")]
    con.close()
    assert len(keys) == 2 and all('"ziq_build":"' in k and '"weights":"' in k for k in keys)

"""`ziq eval` never reports a number it did not compute: inputs that used to give silent nonsense
are refused with a clear message and no run saved. Exit codes as src/core/error.h documents them:
2 for a bad command line, 3 for bad input (the message names the file and the field or tensor)."""
import json
import os
import sqlite3

import pytest

from ziq_run import copy_model, small_corpus, write_tensor_bytes, ziq, ziq_json

ARGS = ["--context", "64", "--stride", "32", "--threads", "1"]


def saved_runs(db):
    if not os.path.exists(db):
        return 0
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def edit_config(model, **fields):
    path = model / "config.json"
    config = json.loads(path.read_text())
    for k, v in fields.items():
        if v is None:
            config.pop(k, None)
        else:
            config[k] = v
    path.write_text(json.dumps(config))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return small_corpus(tmp_path_factory.mktemp("corpus") / "c.jsonl")


@pytest.mark.parametrize("option, value", [("--context", 2**63 - 1), ("--context", 2**40),
                                           ("--stride", 2**62)])
def test_huge_context_or_stride_refused(tmp_path, corpus, option, value):
    db = tmp_path / "r.sqlite"
    args = {"--context": "64", "--stride": "32"}
    args[option] = str(value)
    out = ziq("eval", "--corpus", corpus, "--db", db, "--context", args["--context"], "--stride", args["--stride"])
    assert out.returncode == 2, out.stderr
    assert option in out.stderr
    assert saved_runs(db) == 0


@pytest.mark.parametrize("text", ["", '{"content": ""}\n{"content": ""}\n'])
def test_nothing_to_score_refused(tmp_path, text):
    """An empty corpus, or only empty documents: no window, so no BPC and no run."""
    db = tmp_path / "r.sqlite"
    corpus = tmp_path / "empty.jsonl"
    corpus.write_text(text)
    out = ziq("eval", "--corpus", corpus, "--db", db, *ARGS)
    assert out.returncode == 3, out.stderr
    assert str(corpus) in out.stderr and "nothing to score" in out.stderr and "no run is saved" in out.stderr
    assert saved_runs(db) == 0


def test_fewer_layers_than_checkpoint_refused_unless_allowed(tmp_path, corpus):
    model = copy_model(tmp_path / "m")
    edit_config(model, num_hidden_layers=3)
    db = tmp_path / "r.sqlite"
    out = ziq("eval", "--model", model, "--corpus", corpus, "--db", db, *ARGS)
    assert out.returncode == 3, out.stderr
    assert "model.safetensors" in out.stderr and "num_hidden_layers 3" in out.stderr
    assert "model.layers.3.mlp.down_proj.weight" in out.stderr and "--allow-unused-weights" in out.stderr
    assert saved_runs(db) == 0
    r = ziq_json("eval", "--model", model, "--corpus", corpus, "--db", db, "--allow-unused-weights", *ARGS)
    assert any("9 checkpoint tensor(s) not used" in n for n in r["notes"])
    assert saved_runs(db) == 1


def test_nan_weights_name_the_tensor(tmp_path, corpus):
    model = copy_model(tmp_path / "m")
    write_tensor_bytes(model / "model.safetensors", "model.layers.1.mlp.down_proj.weight", b"\xc0\x7f")  # bf16 NaN
    db = tmp_path / "r.sqlite"
    out = ziq("eval", "--model", model, "--corpus", corpus, "--db", db, *ARGS)
    assert out.returncode == 3, out.stderr
    assert "model.safetensors: tensor 'model.layers.1.mlp.down_proj.weight' holds a non-finite value" in out.stderr
    assert saved_runs(db) == 0


@pytest.mark.parametrize("fields, said", [
    ({"num_attention_heads": 0}, "'num_attention_heads' must be positive"),
    ({"hidden_size": -256}, "'hidden_size' must be positive"),
    ({"intermediate_size": 2**40}, "'intermediate_size' must be positive and at most"),
    ({"head_dim": None, "hidden_size": 250}, "hidden_size 250 is not a multiple of num_attention_heads 8"),
    ({"num_key_value_heads": 3}, "not a multiple of num_key_value_heads 3"),
    ({"rope_parameters": {"rope_theta": 0.0, "rope_type": "default"}}, "'rope_theta' must be a positive number"),
    ({"rms_norm_eps": -1.0}, "'rms_norm_eps' must be a non-negative number"),
    ({"max_position_embeddings": 0}, "'max_position_embeddings' must be positive"),
])
def test_impossible_config_values_name_the_field(tmp_path, corpus, fields, said):
    model = copy_model(tmp_path / "m")
    edit_config(model, **fields)
    out = ziq("eval", "--model", model, "--corpus", corpus, "--db", tmp_path / "r.sqlite", *ARGS)
    assert out.returncode == 3, out.stderr
    assert "config.json" in out.stderr and said in out.stderr, out.stderr


def test_bf16_without_bf16_units_is_labelled_f32(tmp_path, corpus):
    """ZIQ_CPU=avx2 hides AVX-512 (and its bf16 instructions): --precision bf16 then runs float32, and
    says so, in the output, the note and the stored run."""
    env = dict(os.environ, ZIQ_CPU="avx2")
    db = tmp_path / "r.sqlite"
    out = ziq("eval", "--corpus", corpus, "--db", db, "--precision", "bf16", "--json", *ARGS, env=env)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["precision"] == "f32"
    assert any("--precision bf16" in n and "computed in f32" in n for n in r["notes"])
    con = sqlite3.connect(db)
    notes = con.execute("SELECT notes FROM runs").fetchone()[0]
    con.close()
    assert "computed in f32" in notes and "compute precision bf16" not in notes

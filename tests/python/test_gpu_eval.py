"""`ziq eval --backend cuda` against transformers, on the GPU machine (ctest label gpu; skipped
where ziq has no CUDA backend or no GPU).

1. --precision f32 (TF32 off): per-subset BPC equals tests/data/bpc_golden.json (transformers
   float32 on an H200, the paper's protocol, whole corpora) within 1e-6 relative, counts exactly.
2. --precision bf16: the BPC error against that float32 reference is no larger than transformers'
   own bfloat16 run on the same windows (tools/reference_bpc.py --dtype bfloat16, run here when
   torch with CUDA is present; its figures are printed beside ziq's): over all (model, subset)
   pairs, ziq's largest and mean relative errors at most transformers'; each below 1e-4.
3. Determinism: the same command twice gives the same nats bit for bit.
"""
import json
import os
import subprocess
import sys

import pytest

ZIQ = os.environ["ZIQ_BIN"]
TEST_DATA = os.environ["ZIQ_TEST_DATA"]
SHARED = os.environ["ZIQ_SHARED_DATA"]
SOURCE = os.environ.get("ZIQ_SOURCE_DIR", os.path.join(TEST_DATA, "..", ".."))
GOLDEN = json.load(open(os.path.join(TEST_DATA, "bpc_golden.json")))
MODELS = sorted({e["model"] for e in GOLDEN["entries"]})
CORPORA = ["cc", "python", "arxiv_math"]


def have_gpu():
    out = subprocess.run([ZIQ, "bench", "--model", os.path.join(TEST_DATA, "models", "mistral"), "--backend", "cuda",
                          "--context", "16", "--windows", "1", "--json"], capture_output=True, text=True)
    return out.returncode == 0


pytestmark = pytest.mark.skipif(not have_gpu(), reason="no CUDA backend or no GPU")


def ziq_eval(model, precision, tmp_path, tag):
    folder = os.path.join(TEST_DATA, "models", model)
    corpora = [os.path.join(SHARED, "corpora", c + ".jsonl.xz") for c in CORPORA]
    out = subprocess.run([ZIQ, "eval", "--model", folder, "--corpus", *corpora, "--backend", "cuda", "--precision",
                          precision, "--db", str(tmp_path / f"{tag}.sqlite"), "--json"],
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr
    return {s["subset"]: s for s in json.loads(out.stdout)["subsets"]}


def golden(model):
    return {e["corpus"]: e for e in GOLDEN["entries"] if e["model"] == model}


@pytest.mark.parametrize("model", MODELS)
def test_f32_equals_transformers_float32(model, tmp_path):
    want = golden(model)
    got = ziq_eval(model, "f32", tmp_path, "f32")
    for corpus, w in want.items():
        s = got[corpus]
        for field in ("documents", "characters", "bytes", "tokens", "scored_tokens", "windows"):
            assert s[field] == w[field], (corpus, field)
        rel = abs(s["bpc"] - w["bpc"]) / w["bpc"]
        print(f"{model} {corpus}: cuda f32 {s['bpc']:.9f} transformers f32 {w['bpc']:.9f} rel {rel:.2e}")
        assert rel <= 1e-6
    again = ziq_eval(model, "f32", tmp_path, "f32-again")
    for corpus in want:
        assert again[corpus]["nats"] == got[corpus]["nats"], "not deterministic"


@pytest.fixture(scope="module")
def transformers_bf16(tmp_path_factory):
    """BPC of transformers' own bfloat16 run, or None without torch/CUDA here."""
    try:
        import torch
        if not torch.cuda.is_available():
            return None
    except ImportError:
        return None
    out = tmp_path_factory.mktemp("hf") / "bf16.json"
    subprocess.run([sys.executable, os.path.join(SOURCE, "tools", "reference_bpc.py"), "--device", "cuda",
                    "--dtype", "bfloat16", "--out", str(out), "--models", *MODELS], check=True, timeout=3600,
                   env=dict(os.environ, ZIQ_SHARED_DATA=SHARED))
    return {(e["model"], e["corpus"]): e for e in json.load(open(out))["entries"]}


def test_bf16_error_no_larger_than_transformers_bf16(tmp_path, transformers_bf16):
    """Over every (model, subset): ziq's largest and mean relative BPC error against the float32
    reference are at most transformers' bfloat16 ones (on tiny random models either tool's error on
    one subset is a matter of where the roundings fall: 1e-6..7e-5 for both)."""
    errs_ziq, errs_hf = [], []
    for model in MODELS:
        want = golden(model)
        got = ziq_eval(model, "bf16", tmp_path, f"bf16-{model}")
        for corpus, w in want.items():
            s = got[corpus]
            assert s["tokens"] == w["tokens"] and s["windows"] == w["windows"]
            err = abs(s["bpc"] - w["bpc"]) / w["bpc"]
            errs_ziq.append(err)
            line = f"{model} {corpus}: BPC f32 reference {w['bpc']:.6f}; ziq bf16 {s['bpc']:.6f} (rel err {err:.2e})"
            if transformers_bf16:
                h = transformers_bf16[(model, corpus)]
                herr = abs(h["bpc"] - w["bpc"]) / w["bpc"]
                errs_hf.append(herr)
                line += f"; transformers bf16 {h['bpc']:.6f} (rel err {herr:.2e})"
            print(line)
            assert err < 1e-4, line  # bf16 inputs, f32 accumulation, f64 sums
    print(f"ziq bf16: largest {max(errs_ziq):.2e}, mean {sum(errs_ziq) / len(errs_ziq):.2e}")
    if transformers_bf16:
        print(f"transformers bf16: largest {max(errs_hf):.2e}, mean {sum(errs_hf) / len(errs_hf):.2e}")
        assert max(errs_ziq) <= max(errs_hf)
        assert sum(errs_ziq) <= sum(errs_hf)

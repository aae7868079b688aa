"""`ziq eval` against transformers: per-subset BPC under the paper's protocol equals the goldens that
tools/reference_bpc.py computed with transformers (float32, TF32 off, on an H200; a CPU run on
200k-character prefixes agreed with it within 3.1e-9) within 1e-6 relative, for every subset of
the three shared corpora, whole, and every tiny model (about 36,000 windows of 1901 tokens in all:
some 4 minutes per model on two cores). The counts (documents, characters via Python's len,
tokens, windows) must match exactly."""
import json
import lzma
import os
import subprocess

import hashlib
import pytest

ZIQ = os.environ["ZIQ_BIN"]
TEST_DATA = os.environ["ZIQ_TEST_DATA"]
SHARED = os.environ["ZIQ_SHARED_DATA"]
GOLDEN = json.load(open(os.path.join(TEST_DATA, "bpc_golden.json")))
MODELS = sorted({e["model"] for e in GOLDEN["entries"]})


def prefix_file(tmp_path, corpus):
    """The golden's corpus rule applied to the shared corpus file, lines copied verbatim."""
    if not GOLDEN["max_chars"]:
        return os.path.join(SHARED, "corpora", corpus + ".jsonl.xz")
    out = tmp_path / f"{corpus}.jsonl"
    chars = 0
    with lzma.open(os.path.join(SHARED, "corpora", corpus + ".jsonl.xz"), "rb") as f, open(out, "wb") as o:
        for line in f:
            o.write(line)
            chars += len(json.loads(line)["content"])
            if GOLDEN["max_chars"] and chars >= GOLDEN["max_chars"]:
                break
    return str(out)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("model", MODELS)
def test_bpc_equals_transformers(model, tmp_path):
    entries = {e["corpus"]: e for e in GOLDEN["entries"] if e["model"] == model}
    folder = os.path.join(TEST_DATA, "models", model)
    for e in entries.values():  # the golden was made from exactly these files
        for f, digest in e["model_files_sha256"].items():
            assert sha256(os.path.join(folder, f)) == digest, f"{folder}/{f} changed: rerun tools/reference_bpc.py"
    corpora = [prefix_file(tmp_path, c) for c in entries]
    p = GOLDEN["protocol"]
    out = subprocess.run([ZIQ, "eval", "--model", folder, "--corpus", *corpora, "--protocol", p["name"],
                          "--context", str(p["context"]), "--stride", str(p["stride"]), "--threads", "2",
                          "--db", str(tmp_path / "results.sqlite"), "--json"],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr
    got = {s["subset"]: s for s in json.loads(out.stdout)["subsets"]}
    assert sorted(got) == sorted(entries)
    for corpus, want in entries.items():
        s = got[corpus]
        for field in ("documents", "characters", "bytes", "tokens", "scored_tokens", "windows"):
            assert s[field] == want[field], (corpus, field, s[field], want[field])
        rel = abs(s["bpc"] - want["bpc"]) / want["bpc"]
        print(f"{model} {corpus}: ziq {s['bpc']:.9f} transformers {want['bpc']:.9f} rel {rel:.2e}")
        assert rel <= 1e-6, (corpus, s["bpc"], want["bpc"], rel)
        assert abs(s["nats"] - want["nats"]) <= 1e-6 * want["nats"]

"""`ziq compress` / `ziq decompress` with the built-in model: byte-for-byte round trips (text from
the sample corpus, invalid UTF-8, random binary, an empty file, standard input and output),
corrupt and truncated files refused with exit 3 naming the chunk, another model refused, and the
compressed size of the text chunks beside the model's code length (sum of -log2 p over their
tokens; and for one chunk, `ziq eval --protocol doc` on the same text). Inputs are small (chunks of
512 bytes: decoding re-runs the model over each prefix, O(T^2) per chunk) to stay well under a
minute on two cores."""
import json
import os
import random
import subprocess

import pytest

from ziq_run import MODEL, SAMPLE, ZIQ, copy_model, write_tensor_bytes

CHUNK = 512


def run(*args, **kw):
    return subprocess.run([ZIQ, *map(str, args)], capture_output=True, timeout=300, **kw)


def sample_text(n_bytes):
    out = b""
    with open(SAMPLE, encoding="utf-8") as f:
        for line in f:
            out += json.loads(line)["content"].encode("utf-8")
            if len(out) >= n_bytes:
                break
    cut = out[:n_bytes]
    return cut.decode("utf-8", errors="ignore").encode("utf-8")


def roundtrip(tmp_path, data, name, *extra, decompress_extra=(), chunk=CHUNK):
    src = tmp_path / name
    src.write_bytes(data)
    zq = tmp_path / (name + ".zq")
    back = tmp_path / (name + ".out")
    c = run("compress", src, "-o", zq, "--chunk-size", chunk, "--json", *extra)
    assert c.returncode == 0, c.stderr.decode()
    stats = json.loads(c.stdout)
    d = run("decompress", zq, "-o", back, *(decompress_extra or extra))
    assert d.returncode == 0, d.stderr.decode()
    assert back.read_bytes() == data
    assert stats["output_bytes"] == zq.stat().st_size
    return stats, zq


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codec")
    data = sample_text(1500)
    stats, zq = roundtrip(tmp, data, "text.txt")
    return tmp, data, stats, zq


def test_text_roundtrip_and_code_length(text_file):
    tmp, data, stats, _ = text_file
    kinds = [c["kind"] for c in stats["chunks"]]
    assert kinds and all(k == "model" for k in kinds), kinds
    # Each model chunk: its payload is the token count (a varint) and the range coder's bytes, which
    # exceed the ideal code length by the quantization (every token keeps at least 1 of 2^24, and
    # the others lose up to 1 each), the coder's precision (2^-24 relative) and its ending (<= 2 bytes).
    for c in stats["chunks"]:
        ideal = c["model_bits"] / 8
        coded = c["coder_bytes"]
        print(f"chunk at {c['offset']}: {c['bytes']} bytes, {c['tokens']} tokens: model code length "
              f"{ideal:.1f} bytes, coded {coded} bytes")
        assert ideal <= coded + 1
        assert coded <= ideal * 1.01 + 3
    total_ideal = sum(c["model_bits"] for c in stats["chunks"]) / 8
    print(f"whole: {len(data)} bytes -> {stats['output_bytes']} bytes ({stats['bits_per_byte']:.4f} bits/byte); "
          f"model code length {total_ideal:.1f} bytes + header {stats['header_bytes']} + per chunk ~13 framing")
    assert stats["output_bytes"] <= total_ideal * 1.03 + stats["header_bytes"] + 40 * len(stats["chunks"])


def test_code_length_equals_eval(text_file, tmp_path):
    """The first chunk's model code length against `ziq eval --protocol doc` on the same text as one
    document (BOS, then every token scored): the same nats up to the head's rounding."""
    _, data, stats, _ = text_file
    c0 = stats["chunks"][0]
    text = data[c0["offset"]:c0["offset"] + c0["bytes"]].decode("utf-8")
    corpus = tmp_path / "one.jsonl"
    corpus.write_text(json.dumps({"content": text}) + "\n", encoding="utf-8")
    env = dict(os.environ, ZIQ_DB=str(tmp_path / "db.sqlite"))
    e = run("eval", "--protocol", "doc", "--corpus", corpus, "--json", env=env)
    assert e.returncode == 0, e.stderr.decode()
    j = json.loads(e.stdout)
    sub = j["subsets"][0]
    eval_bits = sub["nats"] / 0.6931471805599453
    print(f"chunk 0: ziq compress model code length {c0['model_bits']:.3f} bits, ziq eval --protocol doc "
          f"{eval_bits:.3f} bits, coded {8 * c0['coder_bytes']} bits")
    assert sub["scored_tokens"] == c0["tokens"]
    assert abs(eval_bits - c0["model_bits"]) <= 1e-4 * eval_bits


@pytest.mark.parametrize("name,data", [
    ("invalid_utf8", b"caf\xc3\xa9 ok \xff\xfe broken \xc3 then text again. " * 8),
    ("binary", random.Random(1).randbytes(1300)),
    ("empty", b""),
    ("mixed", sample_text(300) + b"\x00\x01\x02" + random.Random(2).randbytes(600) + sample_text(200)),
    ("batches", sample_text(1300)),
])
def test_roundtrip_other_inputs(tmp_path, name, data):
    # "batches": compressed in one batch on two threads, decompressed one chunk per model call on
    # one thread: a row's distribution does not depend on either.
    # Decoded there by re-running each prefix (no kept keys and values): the same bytes.
    dextra = ("--batch", 1, "--threads", 1, "--rerun-prefixes") if name == "batches" else ()
    stats, _ = roundtrip(tmp_path, data, name, "--threads", 2, decompress_extra=dextra)
    print(name, [c["kind"] for c in stats["chunks"]], len(data), "->", stats["output_bytes"])
    if name == "binary":
        assert all(c["kind"] != "model" for c in stats["chunks"])
        assert stats["output_bytes"] <= len(data) + 400  # stored: header and framing only
    if name == "empty":
        assert stats["chunks"] == []


def test_stdin_stdout(tmp_path):
    data = sample_text(200)
    c = run("compress", "-", "-o", "-", "--chunk-size", CHUNK, "-q", input=data)
    assert c.returncode == 0, c.stderr.decode()
    assert c.stdout[:4] == b"ZIQ1"
    d = run("decompress", "-", "-o", "-", "-q", input=c.stdout)
    assert d.returncode == 0, d.stderr.decode()
    assert d.stdout == data


def test_corrupt_truncated_and_wrong_model(text_file, tmp_path):
    _, _, stats, zq = text_file
    raw = zq.read_bytes()
    # A flipped byte in the last chunk's payload: the chunk is named.
    bad = bytearray(raw)
    bad[-5] ^= 0x40
    p = tmp_path / "bad.zq"
    p.write_bytes(bytes(bad))
    d = run("decompress", p, "-o", tmp_path / "x")
    assert d.returncode == 3, d.stderr.decode()
    last = len(stats["chunks"]) - 1
    assert f"chunk {last} of {len(stats['chunks'])}" in d.stderr.decode()
    assert not (tmp_path / "x").exists()
    # Truncated.
    p.write_bytes(raw[:len(raw) - 10])
    d = run("decompress", p, "-o", tmp_path / "x")
    assert d.returncode == 3 and b"truncated" in d.stderr, d.stderr.decode()
    # A corrupt header, not a ziq file, an empty file.
    bad = bytearray(raw)
    bad[8] ^= 1
    p.write_bytes(bytes(bad))
    d = run("decompress", p, "-o", tmp_path / "x")
    assert d.returncode == 3, d.stderr.decode()
    for junk in (b"hello world, not a ziq file", b""):
        p.write_bytes(junk)
        d = run("decompress", p, "-o", tmp_path / "x")
        assert d.returncode == 3, d.stderr.decode()
    # Another model (the built-in one with one weight changed): refused, naming both.
    other = copy_model(tmp_path / "other-model")
    write_tensor_bytes(other / "model.safetensors", "model.norm.weight", b"\x00\x40")
    d = run("decompress", zq, "-o", tmp_path / "x", "--model", other)
    assert d.returncode == 3, d.stderr.decode()
    assert b"another model" in d.stderr, d.stderr.decode()


def test_other_kernel_class_refused(tmp_path):
    """Compressed with --precision bf16 (on CPUs with bf16 units: another kernel class), decoded with
    the default f32 kernels: refused with exit 3 naming both; with --precision bf16: round trip."""
    data = sample_text(400)
    src = tmp_path / "t.txt"
    src.write_bytes(data)
    zq = tmp_path / "t.zq"
    c = run("compress", src, "-o", zq, "--precision", "bf16", "--json")
    assert c.returncode == 0, c.stderr.decode()
    if json.loads(c.stdout)["precision"] != "bf16":
        pytest.skip("this CPU has no bf16 kernels: one kernel class only")
    d = run("decompress", zq, "-o", tmp_path / "x", "--precision", "f32")
    assert d.returncode == 3, d.stderr.decode()
    assert b"kernel class" in d.stderr and b"bf16" in d.stderr, d.stderr.decode()
    d = run("decompress", zq, "-o", tmp_path / "y", "--precision", "bf16")
    assert d.returncode == 0, d.stderr.decode()
    assert (tmp_path / "y").read_bytes() == data


HARD = ("Zürich — naïve café, ﬁne; Ａｂｃ full-width; e\u0301 (NFD) vs é; 日本語のテキスト、中文；한국어 "
        "emoji 👩‍👩‍👧 🏳️‍🌈\r\n\ttabs\t and   spaces   \n\n<s></s><|endoftext|> [INST] \u200b zero width\n").encode("utf-8")


@pytest.mark.parametrize("model", ["qwen2", "mistral"])
def test_tiny_checkpoints(tmp_path, model):
    """The tiny test checkpoints: qwen2 (no BOS: the first token is coded uniformly; two weight
    shards) and mistral (SentencePiece-style BPE), on sample text and hard text."""
    path = os.path.join(os.environ["ZIQ_TEST_DATA"], "models", model)
    data = sample_text(300) + HARD
    stats, _ = roundtrip(tmp_path, data, model, "--model", path, chunk=256)
    print(model, [c["kind"] for c in stats["chunks"]], len(data), "->", stats["output_bytes"])
    assert any(c["kind"] == "model" for c in stats["chunks"])


def test_forced_kernel_recorded(tmp_path):
    """A kernel forced by the environment (ZIQ_ATTENTION=portable) is part of the kernel class: the
    file decodes under the same setting and is refused without it."""
    data = sample_text(300)
    src = tmp_path / "t.txt"
    src.write_bytes(data)
    zq = tmp_path / "t.zq"
    env = dict(os.environ, ZIQ_ATTENTION="portable")
    c = run("compress", src, "-o", zq, "-q", env=env)
    assert c.returncode == 0, c.stderr.decode()
    plain = {k: v for k, v in os.environ.items() if not k.startswith("ZIQ_") or k == "ZIQ_BIN"}
    d = run("decompress", zq, "-o", tmp_path / "x", env=plain)
    assert d.returncode == 3 and b"ZIQ_ATTENTION=portable" in d.stderr, d.stderr.decode()
    d = run("decompress", zq, "-o", tmp_path / "y", env=env)
    assert d.returncode == 0, d.stderr.decode()
    assert (tmp_path / "y").read_bytes() == data

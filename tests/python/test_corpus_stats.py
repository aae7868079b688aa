"""`ziq corpus stats --json` against Python's own counts (json.loads + len, UTF-8 bytes, lines).

Peers: Python's json, str/bytes, gzip, lzma modules, the `zstd` command line, and
bytes.decode("utf-8", errors="replace") for the repair of invalid UTF-8.
Lines are counted as ziq defines them: text.count("\\n") + (1 if text and not text.endswith("\\n")).
"""
import gzip
import json
import lzma
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

ZIQ = os.environ["ZIQ_BIN"]
SHARED = Path(os.environ.get("ZIQ_SHARED_DATA", "../../../shared/data"))
SOURCE = Path(os.environ.get("ZIQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SAMPLE = SOURCE / "data" / "sample" / "sample.jsonl"
CORPORA = sorted((SHARED / "corpora").glob("*.jsonl*"))


def ziq(*args, stdin=None):
    return subprocess.run([ZIQ, *map(str, args)], input=stdin, capture_output=True)


def ziq_json(*args, stdin=None):
    r = ziq(*args, "--json", stdin=stdin)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def lines_of(text):
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def decompress(path):
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
    return raw


def python_stats(docs):
    """docs: iterable of (subset, content). Returns ziq's JSON layout (subsets in first-seen order)."""
    total = dict(documents=0, empty_documents=0, characters=0, bytes=0, lines=0)
    subsets = {}
    for subset, text in docs:
        for c in (total, subsets.setdefault(subset, {k: 0 for k in total})):
            c["documents"] += 1
            c["empty_documents"] += text == ""
            c["characters"] += len(text)
            c["bytes"] += len(text.encode("utf-8"))
            c["lines"] += lines_of(text)
    return total, subsets


def jsonl_docs(raw, default_subset):
    for line in raw.split(b"\n"):
        if line.strip(b" \t\r") == b"":
            continue
        d = json.loads(line.decode("utf-8"))
        subset = d.get("subset")
        yield (default_subset if subset is None else subset), d["content"]


def assert_same(out, total, subsets):
    assert out["total"] == total
    got = {s.pop("subset"): s for s in out["subsets"]}
    assert list(got) == list(subsets)
    assert got == subsets
    assert out["skipped_bad_utf8"] == out["replaced_bad_utf8"] == out["skipped_bad_lines"] == 0


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def compressed_copies(raw, tmp, stem):
    """The same JSONL as plain, gzip, zstd and xz files (names with and without extensions)."""
    plain = tmp / f"{stem}.jsonl"
    plain.write_bytes(raw)
    gz = tmp / f"{stem}.jsonl.gz"
    gz.write_bytes(gzip.compress(raw, 6))
    xz = tmp / f"{stem}.jsonl.xz"
    xz.write_bytes(lzma.compress(raw))
    zst = tmp / f"{stem}.jsonl.zst"
    subprocess.run(["zstd", "-q", "-3", "-f", str(plain), "-o", str(zst)], check=True)
    # Detection is by content: a zstd file named .jsonl.gz must still read.
    misnamed = tmp / "misnamed" / f"{stem}.jsonl.gz"
    misnamed.parent.mkdir(exist_ok=True)
    shutil.copy(zst, misnamed)
    return [plain, gz, xz, zst, misnamed]


@pytest.mark.parametrize("corpus", CORPORA + [SAMPLE], ids=lambda p: p.name)
def test_stats_equal_python_counts(corpus, tmp_path):
    raw = decompress(corpus)
    stem = corpus.name.split(".")[0]
    total, subsets = python_stats(jsonl_docs(raw, stem))
    assert total["documents"] > 0
    fingerprints = set()
    for path in [corpus] + compressed_copies(raw, tmp_path, stem):
        out = ziq_json("corpus", "stats", path)
        assert_same(out, total, subsets)
        fingerprints.add(out["fingerprint_fnv1a64"])
    assert len(fingerprints) == 1  # the same decompressed bytes, whatever the compression
    # Standard input, compressed or not.
    assert_same(ziq_json("corpus", "stats", "-", stdin=corpus.read_bytes()), total, subsets)


def test_shared_corpora_together_and_as_directory(tmp_path):
    docs = []
    for corpus in CORPORA:
        docs += list(jsonl_docs(decompress(corpus), "unused"))
        shutil.copy(corpus, tmp_path / corpus.name)
    total, subsets = python_stats(docs)
    assert_same(ziq_json("corpus", "stats", *CORPORA), total, subsets)
    # A directory is read in sorted order, which is the order of the sorted glob above.
    assert_same(ziq_json("corpus", "stats", tmp_path), total, subsets)


def test_fingerprint_is_fnv1a64_of_decompressed_bytes(tmp_path):
    raw = SAMPLE.read_bytes()
    (tmp_path / "s.jsonl.gz").write_bytes(gzip.compress(raw))
    assert ziq_json("corpus", "stats", tmp_path / "s.jsonl.gz")["fingerprint_fnv1a64"] == fnv1a64(raw)


def test_plain_text_directory(tmp_path):
    rng = random.Random(7)
    alphabet = "abc xyz\n\té€𝄞\r\n日本語"
    files = {
        "top.txt": "one document\nwith two lines",
        "cc/a.txt": "",
        "cc/b.md": "".join(rng.choice(alphabet) for _ in range(5000)),
        "cc/deeper/c": "no final newline",
        "python/x.py": "print('hi')\n\n",
        "python/y.py.gz": "import os\n" * 100,
    }
    for name, text in files.items():
        p = tmp_path / "root" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        p.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    order = sorted(files, key=lambda n: str(tmp_path / "root" / n))
    docs = [(n.split("/")[0] if "/" in n else "root", files[n]) for n in order]
    total, subsets = python_stats(docs)
    assert total["empty_documents"] == 1
    assert_same(ziq_json("corpus", "stats", tmp_path / "root"), total, subsets)
    # --subset-default names every document that has none.
    total, subsets = python_stats([("all", t) for _, t in docs])
    assert_same(ziq_json("corpus", "stats", tmp_path / "root", "--subset-default", "all"), total, subsets)
    # A file named on the command line: its stem; stdin sniffed as text.
    one = tmp_path / "root" / "cc" / "b.md"
    assert_same(ziq_json("corpus", "stats", one), *python_stats([("b", files["cc/b.md"])]))
    assert_same(ziq_json("corpus", "stats", "-", stdin=one.read_bytes()), *python_stats([("stdin", files["cc/b.md"])]))


def test_jsonl_details(tmp_path):
    lines = [
        '{"content": "a\\u00e9\\ud83d\\ude00", "subset": "s1", "meta": {"source": "x"}}',
        "",
        "   \r",
        '{"content": "", "subset": "s2"}',
        '{"content": "no subset"}',
        '{"content": "null subset", "subset": null}\r',
        '{"content": "last line without newline", "subset": "s1"}',
    ]
    raw = "\n".join(lines).encode("utf-8")
    path = tmp_path / "d.jsonl"
    path.write_bytes(raw)
    total, subsets = python_stats(jsonl_docs(raw, "d"))
    assert total["documents"] == 5 and total["empty_documents"] == 1
    assert_same(ziq_json("corpus", "stats", path), total, subsets)


# --- bad input -----------------------------------------------------------------------------------

BAD_LINES = {
    "bad_utf8": b'{"content": "ok \xff\xfe"}',
    "malformed": b'{"content": "unterminated}',
    "not_object": b'["content"]',
    "missing_content": b'{"text": "x"}',
    "content_not_string": b'{"content": 42}',
    "subset_not_string": b'{"content": "x", "subset": 3}',
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_bad_line_names_file_and_line(kind, tmp_path):
    good = b'{"content": "fine", "subset": "s"}'
    raw = b"\n".join([good, good, BAD_LINES[kind], good]) + b"\n"
    path = tmp_path / "bad.jsonl"
    path.write_bytes(raw)
    r = ziq("corpus", "stats", path)
    assert r.returncode == 3, r.stderr
    assert f"{path}:3:".encode() in r.stderr
    # Compressed, the line number is the same.
    gz = tmp_path / "bad.jsonl.gz"
    gz.write_bytes(gzip.compress(raw))
    r = ziq("corpus", "stats", gz)
    assert r.returncode == 3 and f"{gz}:3:".encode() in r.stderr
    # The options that skip instead of stopping, with the count reported.
    opt = ["--on-bad-utf8", "skip"] if kind == "bad_utf8" else ["--skip-bad-lines"]
    out = ziq_json("corpus", "stats", path, *opt)
    assert out["total"]["documents"] == 3
    key = "skipped_bad_utf8" if kind == "bad_utf8" else "skipped_bad_lines"
    assert out[key] == 1
    assert out["skipped_bad_utf8"] + out["skipped_bad_lines"] == 1


def test_bad_utf8_in_text_file_names_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"line one\nline two\nthree \xc3\x28 here\n")
    r = ziq("corpus", "stats", path)
    assert r.returncode == 3 and f"{path}:3:".encode() in r.stderr
    out = ziq_json("corpus", "stats", path, "--on-bad-utf8", "replace")
    text = path.read_bytes().decode("utf-8", errors="replace")
    assert out["replaced_bad_utf8"] == 1
    assert out["total"]["characters"] == len(text)
    assert out["total"]["bytes"] == len(text.encode("utf-8"))


def test_corrupt_and_missing_files(tmp_path):
    raw = SAMPLE.read_bytes()
    for name, data in [("trunc.jsonl.gz", gzip.compress(raw)[:-100]), ("trunc.jsonl.xz", lzma.compress(raw)[:-100])]:
        p = tmp_path / name
        p.write_bytes(data)
        r = ziq("corpus", "stats", p)
        assert r.returncode == 3 and str(p).encode() in r.stderr, r.stderr
    r = ziq("corpus", "stats", tmp_path / "nope.jsonl")
    assert r.returncode == 3 and b"nope.jsonl" in r.stderr
    assert ziq("corpus", "stats", SAMPLE, "--on-bad-utf8", "ignore").returncode == 2


def random_bytes(rng, n):
    # Mostly pieces of UTF-8 sequences so that both valid and every kind of invalid sequence occur.
    pool = [b"a", b" ", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
    out = bytearray()
    while len(out) < n:
        r = rng.random()
        if r < 0.4:
            out += rng.choice(pool)
        elif r < 0.6:
            piece = rng.choice(pool)
            out += piece[: rng.randint(1, len(piece))]
        else:
            out.append(rng.choice([0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4,
                                   0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90, rng.randint(0x80, 0xFF)]))
    return bytes(out)


def test_replace_equals_python_decode_replace(tmp_path):
    rng = random.Random(1234)
    texts, jsonl = [], []
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(300):
        data = random_bytes(rng, rng.randint(0, 40))
        (root / f"{i:04d}.txt").write_bytes(data)
        texts.append(data.decode("utf-8", errors="replace"))
        jsonl.append(b'{"content": "' + data.replace(b"\\", b"").replace(b'"', b"") + b'"}')
    r = ziq("corpus", "cat", root, "--on-bad-utf8", "replace")
    assert r.returncode == 0, r.stderr
    got = [json.loads(line)["content"] for line in r.stdout.decode("utf-8").splitlines()]
    assert got == texts
    # The same inside JSON lines: Python decodes the line with errors="replace", then json.loads.
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(jsonl))
    r = ziq("corpus", "cat", path, "--on-bad-utf8", "replace")
    assert r.returncode == 0, r.stderr
    got = [json.loads(line)["content"] for line in r.stdout.decode("utf-8").splitlines()]
    assert got == [json.loads(line.decode("utf-8", errors="replace"))["content"] for line in jsonl]
    out = ziq_json("corpus", "stats", path, "--on-bad-utf8", "replace")
    def invalid(b):
        try:
            b.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return True

    assert out["replaced_bad_utf8"] == sum(map(invalid, jsonl)) > 0

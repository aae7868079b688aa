"""`ziq baseline --json` against the command-line gzip, xz and zstd on the same bytes.

The bytes: per subset, the contents of the non-empty documents concatenated in corpus order with
no separator, built here with Python's json (not with ziq), written to a file and compressed by:
  xz -9e -T1 -c < f      must equal ziq's xz size exactly (same liblzma encoder, same .xz
                         container with CRC64; -T1 keeps xz 5.4+ in single-threaded mode, whose
                         block headers carry no size fields);
  zstd -19 -c < f        must equal exactly (same libzstd; fed on stdin because ziq streams and does
                         not know the size in advance: given a file, the CLI also writes the
                         content size in the frame header, 1 to 8 bytes);
  gzip -9 -n -c < f      GNU gzip has its own deflate implementation (the ancestor of zlib's), which
                         cuts blocks differently, so its deflate stream differs from zlib's; the
                         10-byte header (-n: no name, mtime 0) and 8-byte trailer are the same. So
                         ziq must equal Python's gzip.compress(level 9, mtime=0) exactly (zlib,
                         the library ziq uses; same header and trailer length) and be within 1% of
                         GNU gzip (measured: 0.03% to 0.5% on these corpora).
"""
import gzip
import json
import lzma
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ZIQ = os.environ["ZIQ_BIN"]
SHARED = Path(os.environ.get("ZIQ_SHARED_DATA", "../../../shared/data"))
SOURCE = Path(os.environ.get("ZIQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SAMPLE = SOURCE / "data" / "sample" / "sample.jsonl"
CORPORA = sorted((SHARED / "corpora").glob("*.jsonl*"))


def ziq(*args, env=None):
    return subprocess.run([ZIQ, *map(str, args)], capture_output=True, env=env)


def ziq_json(*args, env=None):
    r = ziq(*args, "--json", env=env)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def streams_of(raw_jsonl, default_subset):
    """{subset: concatenated UTF-8 bytes} in first-seen order, and the document counts."""
    streams, docs, empty = {}, 0, 0
    for line in raw_jsonl.split(b"\n"):
        if line.strip(b" \t\r") == b"":
            continue
        d = json.loads(line.decode("utf-8"))
        docs += 1
        if d["content"] == "":
            empty += 1
            continue
        subset = d.get("subset")
        streams.setdefault(default_subset if subset is None else subset, []).append(d["content"])
    return {k: "".join(v) for k, v in streams.items()}, docs, empty


def cli_size(cmd, path):
    with open(path, "rb") as f:
        return len(subprocess.run(cmd, stdin=f, capture_output=True, check=True).stdout)


def check_against_tools(out, streams, docs, empty, tmp_path):
    assert [s["subset"] for s in out["subsets"]] == list(streams)
    assert out["documents"] == docs and out["empty_documents"] == empty
    jobs = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, (name, text) in enumerate(streams.items()):
            path = tmp_path / f"stream{i}"
            path.write_bytes(text.encode("utf-8"))
            for tool, cmd in [("xz", ["xz", "-9e", "-T1", "-c"]), ("zstd", ["zstd", "-19", "-c"]),
                              ("gnu_gzip", ["gzip", "-9", "-n", "-c"])]:
                jobs[name, tool] = pool.submit(cli_size, cmd, path)
    sums = {k: 0 for k in ("gzip", "xz", "zstd")}
    means = {k: 0.0 for k in sums}
    for s in out["subsets"]:
        text = streams[s["subset"]]
        data = text.encode("utf-8")
        assert s["characters"] == len(text) and s["bytes"] == len(data)
        c = {k: v["compressed_bytes"] for k, v in s["codecs"].items()}
        assert c["xz"] == jobs[s["subset"], "xz"].result()
        assert c["zstd"] == jobs[s["subset"], "zstd"].result()
        assert c["gzip"] == len(gzip.compress(data, compresslevel=9, mtime=0))
        gnu = jobs[s["subset"], "gnu_gzip"].result()
        assert abs(c["gzip"] - gnu) <= 0.01 * gnu, (c["gzip"], gnu)
        for k in sums:
            assert s["codecs"][k]["bpc"] == pytest.approx(8 * c[k] / len(text), rel=1e-12)
            assert s["codecs"][k]["bpb"] == pytest.approx(8 * c[k] / len(data), rel=1e-12)
            sums[k] += c[k]
            means[k] += 8 * c[k] / len(text) / len(streams)
    total_chars = sum(len(t) for t in streams.values())
    for k in sums:
        o = out["overall"][k]
        assert o["compressed_bytes"] == sums[k]
        assert o["mean_bpc"] == pytest.approx(means[k], rel=1e-12)
        assert o["pooled_bpc"] == pytest.approx(8 * sums[k] / total_chars, rel=1e-12)


def test_default_is_the_sample_and_matches_the_tools(tmp_path):
    out = ziq_json("baseline")
    assert out["paths"] == [str(SAMPLE)] or Path(out["paths"][0]).resolve() == SAMPLE.resolve()
    check_against_tools(out, *streams_of(SAMPLE.read_bytes(), "sample"), tmp_path)


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_shared_corpora_match_the_tools(corpus, tmp_path):
    out = ziq_json("baseline", corpus)
    check_against_tools(out, *streams_of(lzma.decompress(corpus.read_bytes()), corpus.name.split(".")[0]), tmp_path)


def test_interleaved_subsets_and_empty_documents(tmp_path):
    docs = []
    for i in range(60):
        subset = ["a", "b", "c"][i % 3]
        content = "" if i % 7 == 0 else f"document {i} of {subset}: " + "é€ text\n" * (i % 11)
        docs.append(json.dumps({"content": content, "subset": subset, "meta": {"i": i}}))
    raw = ("\n".join(docs) + "\n").encode("utf-8")
    path = tmp_path / "mixed.jsonl.gz"
    path.write_bytes(gzip.compress(raw))
    check_against_tools(ziq_json("baseline", path), *streams_of(raw, "mixed"), tmp_path)


def test_data_dir_from_environment(tmp_path):
    (tmp_path / "data" / "sample").mkdir(parents=True)
    raw = b'{"content": "hello hello hello hello", "subset": "only"}\n'
    (tmp_path / "data" / "sample" / "sample.jsonl").write_bytes(raw)
    env = dict(os.environ, ZIQ_DATA_DIR=str(tmp_path / "data"))
    check_against_tools(ziq_json("baseline", env=env), *streams_of(raw, "x"), tmp_path)
    env["ZIQ_DATA_DIR"] = str(tmp_path / "nope")
    r = ziq("baseline", env=env)
    assert r.returncode == 3 and b"nope" in r.stderr


@pytest.mark.parametrize("bad, why", [(b'{"content": "a\xff"}', b"invalid UTF-8"),
                                      (b'{"content": 1}', b'"content" is not a string'),
                                      (b'{"content": "x"', b"malformed JSON")])
def test_bad_input_exit_3_names_file_and_line(bad, why, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"content": "fine"}\n' + bad + b"\n")
    r = ziq("baseline", path)
    assert r.returncode == 3
    assert f"{path}:2: ".encode() + why in r.stderr, r.stderr

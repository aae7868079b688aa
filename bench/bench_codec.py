#!/usr/bin/env python3
"""`ziq compress` / `ziq decompress` beside xz -9e and zstd -19 --long on the same bytes, in one run.

The input: a file given with --input, else the first --bytes bytes of the sample corpus's contents
(data/sample/sample.jsonl, concatenated in order, cut back to whole UTF-8 characters). Printed per
compressor: compressed bytes, bits per byte, compression and decompression speed (MB/s of input;
wall clock of the command, so ziq's includes loading the model), and for ziq the model's code
length (bits per byte of the model-coded chunks: the sum of -log2 p over their tokens) beside what
was coded for them. Every round trip is checked byte for byte.

Reference (not measured here): ts_zip (Bellard) reports 1.084 bits/byte on enwik9 with a
169M-parameter model, up to ~1 MB/s on an RTX 4090.

    python3 bench/bench_codec.py [--bytes 16384] [--chunk-size 1024] [--model M] [--build DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample_bytes(n):
    out = b""
    with open(os.path.join(ROOT, "data", "sample", "sample.jsonl"), encoding="utf-8") as f:
        for line in f:
            out += json.loads(line)["content"].encode("utf-8")
            if len(out) >= n:
                break
    return out[:n].decode("utf-8", errors="ignore").encode("utf-8")


def timed(cmd, stdin=None, stdout=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdin=stdin, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", help="file to compress (default: a slice of the sample corpus)")
    ap.add_argument("--bytes", type=int, default=16384, help="bytes of the sample when no --input")
    ap.add_argument("--chunk-size", type=int, default=1024)
    ap.add_argument("--model", help="model for ziq (default: the built-in model)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    ziq = os.path.join(a.build, "ziq")
    data = open(a.input, "rb").read() if a.input else sample_bytes(a.bytes)
    n = len(data)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        with open(src, "wb") as f:
            f.write(data)
        for name, comp, decomp in (("xz -9e", ["xz", "-9e", "-T1", "-c"], ["xz", "-d", "-c"]),
                                   ("zstd -19 --long", ["zstd", "-19", "--long", "-q", "-c"],
                                    ["zstd", "-d", "--long", "-q", "-c"])):
            if not shutil.which(comp[0]):
                print(f"{name}: not installed, left out")
                continue
            with open(src, "rb") as f:
                r, tc = timed(comp, stdin=f)
            packed = r.stdout
            r2 = subprocess.run(decomp, input=packed, capture_output=True)
            t0 = time.perf_counter()
            r2 = subprocess.run(decomp, input=packed, capture_output=True)
            td = time.perf_counter() - t0
            assert r2.stdout == data, name
            rows.append((name, len(packed), tc, td, ""))
        zq = os.path.join(tmp, "in.zq")
        back = os.path.join(tmp, "back")
        model = ["--model", a.model] if a.model else []
        r, tc = timed([ziq, "compress", src, "-o", zq, "--chunk-size", str(a.chunk_size), "--json", *model])
        stats = json.loads(r.stdout)
        _, td = timed([ziq, "decompress", zq, "-o", back, "-q", *model])
        assert open(back, "rb").read() == data, "ziq round trip"
        mb = stats["model_chunk_bytes"]
        note = (f"model chunks {stats['model_chunks']}/{len(stats['chunks'])}: code length "
                f"{stats['model_bits'] / mb:.4f} bits/byte, coded {8 * stats['model_coder_bytes'] / mb:.4f}"
                if mb else "no model chunks")
        rows.append((f"ziq ({stats['backend']}, {a.chunk_size}-byte chunks)", stats["output_bytes"], tc, td, note))
    print(f"input: {a.input or 'sample corpus slice'}, {n} bytes")
    print(f"{'compressor':45} {'bytes':>8} {'bits/byte':>10} {'comp MB/s':>10} {'decomp MB/s':>12}  notes")
    for name, size, tc, td, note in rows:
        print(f"{name:45} {size:8d} {8 * size / n:10.4f} {n / tc / 1e6:10.4f} {n / td / 1e6:12.6f}  {note}")


if __name__ == "__main__":
    main()

"""Tokenizing speed: ziq vs Hugging Face `tokenizers`, same text, same run, single thread.

For every tokenizer.json family in ../shared/data/tokenizers (or --tokenizers DIR), the text is the
first --mb MB (default 4) of documents taken round-robin from the three shared corpora. ziq runs
`ziq tokenize --format count --threads 1 --json`, which reports the time spent encoding alone
(not loading or reading). The peer is tokenizers' Python binding on one thread, measured two ways
on the same documents: `Tokenizer.encode(doc)` in a plain loop, and `encode_batch(docs)` with
RAYON_NUM_THREADS=1 (set before tokenizers is imported); the faster of the two is the peer figure
(`HF MB/s`), so the ratio never flatters ziq. Both count the same UTF-8 bytes; the token totals are compared as a sanity check.
Then one scaling line: ziq MB/s with 1, 2, ... threads up to the core count, on one family.

    python3 bench/bench_tokenize.py [--ziq build/ziq] [--mb 4] [--family llama3 ...]
"""
import argparse
import json
import lzma
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

root = Path(__file__).resolve().parents[1]


def read_maybe_xz(p: Path) -> bytes:
    data = p.read_bytes()
    return lzma.decompress(data) if p.suffix == ".xz" else data


def corpus_docs(shared: Path, mb: float):
    per = []
    for p in sorted((shared / "corpora").glob("*.jsonl*")):
        docs = [json.loads(l)["content"] for l in read_maybe_xz(p).decode("utf-8").split("\n") if l.strip()]
        per.append([d for d in docs if d])
    out, total, k = [], 0, 0
    while total < mb * 1e6 and any(k < len(d) for d in per):
        for docs in per:
            if k < len(docs) and total < mb * 1e6:
                out.append(docs[k])
                total += len(docs[k].encode("utf-8"))
        k += 1
    return out, total


def ziq_count(ziq, folder, corpus, threads):
    r = subprocess.run([ziq, "--json", "tokenize", "--tokenizer", str(folder), "--corpus", str(corpus),
                        "--format", "count", "--threads", str(threads)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"ziq failed: {r.stderr}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ziq", default=str(root / "build" / "ziq"))
    ap.add_argument("--shared", default=str(root / ".." / "shared" / "data"))
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--family", action="append", help="only these tokenizer folders")
    ap.add_argument("--scaling-family", default="llama3")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"  # encode_batch on one thread
    from tokenizers import Tokenizer, __version__ as hf_version

    shared = Path(args.shared)
    tmp = Path(tempfile.mkdtemp(prefix="ziq_bench_tok_"))
    try:
        docs, nbytes = corpus_docs(shared, args.mb)
        corpus = tmp / "bench.jsonl"
        with open(corpus, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"content": d}) + "\n")
        print(f"text: {len(docs)} documents, {nbytes / 1e6:.2f} MB from {shared / 'corpora'}; tokenizers {hf_version}; "
              f"peer = the faster of an encode loop and encode_batch, one thread")
        print(f"{'family':<18}{'ziq MB/s':>10}{'HF MB/s':>10}{'ratio':>8}{'HF loop':>9}{'HF batch':>9}{'tokens':>11}{'ziq load s':>12}")
        folders = {}
        for d in sorted((shared / "tokenizers").iterdir()):
            src = d / "tokenizer.json.xz"
            if not src.exists() or (args.family and d.name not in args.family):
                continue
            folder = tmp / d.name
            folder.mkdir()
            (folder / "tokenizer.json").write_bytes(read_maybe_xz(src))
            for side in ("tokenizer_config.json", "special_tokens_map.json"):
                if (d / side).exists():
                    shutil.copy(d / side, folder / side)
            folders[d.name] = folder
            z = ziq_count(args.ziq, folder, corpus, 1)
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            t0 = time.perf_counter()
            n = 0
            for doc in docs:
                n += len(tok.encode(doc).ids)
            loop_mbps = nbytes / 1e6 / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            nb = sum(len(e.ids) for e in tok.encode_batch(docs))
            batch_mbps = nbytes / 1e6 / (time.perf_counter() - t0)
            hf_mbps = max(loop_mbps, batch_mbps)
            same = "" if n == nb == z["tokens"] else f"  TOKEN COUNT DIFFERS (HF {n} / {nb})"
            print(f"{d.name:<18}{z['mb_per_second']:>10.2f}{hf_mbps:>10.2f}{z['mb_per_second'] / hf_mbps:>7.2f}x"
                  f"{loop_mbps:>9.2f}{batch_mbps:>9.2f}{z['tokens']:>11}{z['load_seconds']:>12.2f}{same}", flush=True)
        fam = args.scaling_family if args.scaling_family in folders else next(iter(folders))
        cores = os.cpu_count() or 1
        line = []
        base = None
        for t in sorted({1, 2, 4, 8, 16, 32, 64, cores} & set(range(1, cores + 1))):
            z = ziq_count(args.ziq, folders[fam], corpus, t)
            base = base or z["mb_per_second"]
            line.append(f"{t}t {z['mb_per_second']:.1f} MB/s ({z['mb_per_second'] / base:.2f}x)")
        print(f"scaling ({fam}, {cores} cores): " + ", ".join(line))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

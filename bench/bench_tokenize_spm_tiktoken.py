#!/usr/bin/env python3
"""Tokenizing speed of ziq against its peers, single thread, same text, same run:
  SentencePiece .model  ziq vs the `sentencepiece` package (sp.encode, plus the slow-Llama policy
                        reference of tests/python/spm_tiktoken_reference.py, which is what the
                        paper's use_fast=False tokenizers cost at best)
  tiktoken rank files   ziq vs the `tiktoken` package (encode(allowed_special="all")), if installed
Prints MB/s (UTF-8 bytes of the documents / encode seconds) for each and the ratio ziq / peer.
ziq's figure is `ziq tokenize --threads 1 --format count --json`'s encode-only time (reading the
corpus and writing are not timed); the peers' is a loop of encode calls over the same documents.

Usage (from the repository root, after scripts/build.sh):
    python3 bench/bench_tokenize_spm_tiktoken.py [--ziq build/ziq] [--mb 4] [--corpus cc ...]
The text is the first --mb MB of each named shared corpus (default: cc python arxiv_math).
"""
import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))


def load_docs(corpora, mb):
    docs = []
    for c in corpora:
        with lzma.open(os.path.join(SHARED, "corpora", f"{c}.jsonl.xz"), "rt", encoding="utf-8") as f:
            size = 0
            for line in f:
                if not line.strip():
                    continue
                d = json.loads(line)["content"]
                if d:
                    docs.append(d)
                    size += len(d.encode())
                if size >= mb * 1e6:
                    break
    return docs


def ziq_mbps(ziq, tokenizer, corpus_file):
    out = subprocess.run([ziq, "tokenize", "--tokenizer", tokenizer, "--corpus", corpus_file, "--format", "count",
                          "--threads", "1", "--json", "--quiet"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"ziq tokenize failed: {out.stderr}")
    return json.loads(out.stdout)["mb_per_second"]


def peer_mbps(encode, docs, nbytes):
    t = time.perf_counter()
    for d in docs:
        encode(d)
    return nbytes / 1e6 / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ziq", default=os.path.join(ROOT, "build", "ziq"))
    ap.add_argument("--mb", type=float, default=4.0, help="MB taken from each corpus")
    ap.add_argument("--corpus", nargs="*", default=["cc", "python", "arxiv_math"])
    args = ap.parse_args()

    docs = load_docs(args.corpus, args.mb)
    nbytes = sum(len(d.encode()) for d in docs)
    tmp = tempfile.mkdtemp(prefix="ziq_bench_tok_")
    corpus_file = os.path.join(tmp, "bench.jsonl")
    with open(corpus_file, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"content": d}) + "\n")
    print(f"{len(docs)} documents, {nbytes / 1e6:.1f} MB ({', '.join(args.corpus)}), single thread")
    print(f"{'tokenizer':<28}{'peer':<34}{'ziq MB/s':>10}{'peer MB/s':>11}{'ratio':>8}")

    def row(name, peer, z, p):
        print(f"{name:<28}{peer:<34}{z:>10.2f}{p:>11.2f}{z / p:>7.2f}x", flush=True)

    import sentencepiece as spm
    from spm_tiktoken_reference import SlowLlamaReference
    tok_dir = os.path.join(SHARED, "tokenizers")
    for name, model, folder in [("llama2 (.model)", "llama2/tokenizer.model", ""),
                                ("mistral_7b_v0_3 (.model.v3)", "mistral_7b_v0_3/tokenizer.model.v3", "mistral_7b_v0_3")]:
        model = os.path.join(tok_dir, model)
        path = model
        if folder:  # a folder with tokenizer.model, as transformers would load it
            path = os.path.join(tmp, folder)
            os.makedirs(path, exist_ok=True)
            shutil.copy(model, os.path.join(path, "tokenizer.model"))
            for side in ("tokenizer_config.json", "special_tokens_map.json"):
                shutil.copy(os.path.join(tok_dir, folder, side), path)
        z = ziq_mbps(args.ziq, path, corpus_file)
        sp = spm.SentencePieceProcessor(model_file=model)
        row(name, "sentencepiece sp.encode", z, peer_mbps(sp.encode, docs, nbytes))
        ref = SlowLlamaReference(model, path if folder else "")
        row(name, "sentencepiece + slow-Llama policy", z, peer_mbps(ref.encode, docs, nbytes))

    try:
        import tiktoken  # noqa: F401
        from make_tok_goldens_tiktoken import encodings
    except ImportError:
        print("tiktoken: the package is not installed here; skipped (pip install tiktoken)")
        return
    encs = encodings()
    for fam in ["r50k_base", "p50k_base", "cl100k_base", "o200k_base"]:
        z = ziq_mbps(args.ziq, os.path.join(tok_dir, "tiktoken", f"{fam}.tiktoken.xz"), corpus_file)
        enc = encs[fam]
        row(f"{fam} (.tiktoken)", f"tiktoken {tiktoken.__version__} encode", z,
            peer_mbps(lambda d: enc.encode(d, allowed_special="all"), docs, nbytes))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    main()

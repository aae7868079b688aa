#!/usr/bin/env python3
"""`ziq eval` end to end against transformers on the same corpus, same windows, in one run.

bench_eval_cpu.py times the model alone on random windows; this one runs the command a user runs,
`ziq eval --model M --corpus C --no-resume` (tokenizing, the paper's windows, scoring, the results
database), and the paper's method on transformers for the same windows: each subset's documents
encoded by the model folder's tokenizer.json through Hugging Face `tokenizers` and concatenated,
windows of C + 1 = 1901 tokens every 512, the last 512 targets of each window scored (all of the
first window's), as tools/reference_bpc.py does (hidden states through lm_head only at scored
positions, which spares transformers the full logits).

Printed per run: scored tokens per second of scoring (ziq: the `scoring_seconds` its JSON reports;
transformers: its forward passes, tokenization excluded) and ziq's whole command by the wall clock
(process start, model load, tokenization and database included), and the ratio; the total nats of
each side and their relative difference (float32: equal to ~1e-8, the golden tests' bar is 1e-6
on BPC).

Models:
  default  data/default-model (the built-in model) on the whole sample corpus (data/sample);
  qwen2    a Qwen2-0.5B-shaped model with random weights (made as bench_eval_cpu.py makes it) and
           the Qwen2.5 tokenizer of tests/data/models/qwen2, on the first --qwen2-chars
           characters of each subset of the sample corpus (the whole of it takes transformers'
           float32 minutes).
Both precisions: ziq f32 against transformers float32, ziq --precision bf16 against bfloat16.

Needs: a built tree (bash scripts/build.sh: build/ziq), torch, transformers, tokenizers.
    python3 bench/bench_eval_cli.py [--models default,qwen2] [--threads N] [--build DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_eval_cpu import make_qwen2_05b  # noqa: E402
from reference_bpc import load_tokenizer, paper_nats  # noqa: E402

SAMPLE = os.path.join(ROOT, "data", "sample", "sample.jsonl")


def write_corpus(path, max_chars):
    """The sample corpus, each subset cut after the document at which it reaches max_chars (0: all)."""
    chars = {}
    with open(SAMPLE, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for line in src:
            doc = json.loads(line)
            subset = doc["subset"]
            if max_chars and chars.get(subset, 0) >= max_chars:
                continue
            chars[subset] = chars.get(subset, 0) + len(doc["content"])
            dst.write(json.dumps(doc) + "\n")


def subsets_of(corpus):
    docs = {}
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            docs.setdefault(doc["subset"], []).append(doc["content"])
    return docs


def run_ziq(args, model_dir, corpus, precision, db):
    cmd = [os.path.join(args.build, "ziq"), "eval", "--model", model_dir, "--corpus", corpus, "--json",
           "--no-resume", "--db", db, "--threads", str(args.threads), "--precision", precision]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    j = json.loads(out)
    return {"scored": j["overall"]["scored_tokens"], "windows": j["overall"]["windows"],
            "seconds": j["scoring_seconds"], "wall": wall, "nats": j["overall"]["nats"],
            "subset_nats": {s["subset"]: s["nats"] for s in j["subsets"]}}


def run_transformers(args, model_dir, corpus, dtype):
    torch.set_num_threads(args.threads)
    encode, _ = load_tokenizer(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
    streams = {}
    for subset, docs in subsets_of(corpus).items():
        streams[subset] = [t for d in docs if d for t in encode(d)]
    paper_nats(model, next(iter(streams.values())), "cpu", batch=args.batch)  # warm-up
    total, scored, windows, seconds, subset_nats = 0.0, 0, 0, 0.0, {}
    for subset, stream in streams.items():
        t0 = time.perf_counter()
        nats, n, w = paper_nats(model, stream, "cpu", batch=args.batch)
        seconds += time.perf_counter() - t0
        if nats is None:
            continue
        total, scored, windows = total + nats, scored + n, windows + w
        subset_nats[subset] = nats
    return {"scored": scored, "windows": windows, "seconds": seconds, "nats": total, "subset_nats": subset_nats}


def bench(args, name, model_dir, max_chars):
    work = tempfile.mkdtemp(prefix="ziq-bench-eval-")
    try:
        corpus = os.path.join(work, "corpus.jsonl")
        write_corpus(corpus, max_chars)
        z32 = run_ziq(args, model_dir, corpus, "f32", os.path.join(work, "results.sqlite"))
        z16 = run_ziq(args, model_dir, corpus, "bf16", os.path.join(work, "results.sqlite"))
        t32 = run_transformers(args, model_dir, corpus, torch.float32)
        t16 = run_transformers(args, model_dir, corpus, torch.bfloat16)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for z, t in ((z32, t32), (z16, t16)):
        if (z["scored"], z["windows"]) != (t["scored"], t["windows"]):
            sys.exit(f"{name}: ziq scored {z['scored']} tokens in {z['windows']} windows, "
                     f"transformers {t['scored']} in {t['windows']}: not the same windows")
    cut = f"first {max_chars} characters of each subset" if max_chars else "whole"
    print(f"\n{name}: `ziq eval` on the sample corpus ({cut}), {z32['windows']} windows, {z32['scored']} scored "
          f"tokens, {args.threads} threads, torch {torch.__version__}, transformers {transformers.__version__}")
    for label, r in [("ziq eval f32 (default)", z32), ("ziq eval --precision bf16", z16),
                     ("transformers float32", t32), ("transformers bfloat16", t16)]:
        wall = f"   whole command {r['scored'] / r['wall']:9.1f} tokens/s ({r['wall']:6.2f} s)" if "wall" in r else ""
        print(f"  {label:26s} scoring {r['scored'] / r['seconds']:9.1f} scored tokens/s ({r['seconds']:6.2f} s)"
              f"  nats {r['nats']:.6f}{wall}")
    print(f"  ratio, scoring:        f32 {t32['seconds'] / z32['seconds']:.2f}x   bf16 {t16['seconds'] / z16['seconds']:.2f}x")
    print(f"  ratio, whole command:  f32 {t32['seconds'] / z32['wall']:.2f}x   bf16 {t16['seconds'] / z16['wall']:.2f}x"
          "   (ziq's start, load, tokenizing and database against transformers' forward alone)")
    rel = max(abs(z32["subset_nats"][s] - t32["subset_nats"][s]) / t32["subset_nats"][s] for s in t32["subset_nats"])
    print(f"  largest relative nats difference of a subset, ziq f32 vs transformers float32: {rel:.2e}")
    return rel


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="default,qwen2")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=4, help="windows per forward on both sides (ziq's default)")
    ap.add_argument("--qwen2-chars", type=int, default=12000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "ziq-bench-models"))
    args = ap.parse_args()
    worst = 0.0
    for name in args.models.split(","):
        if name == "default":
            worst = max(worst, bench(args, name, os.path.join(ROOT, "data", "default-model"), 0))
        elif name == "qwen2":
            folder = make_qwen2_05b(os.path.join(args.cache, "qwen2-0.5b-random"))
            for f in ("tokenizer.json", "tokenizer_config.json"):  # the real Qwen2.5 tokenizer (tests/data)
                shutil.copy(os.path.join(ROOT, "tests", "data", "models", "qwen2", f), folder)
            worst = max(worst, bench(args, name, folder, args.qwen2_chars))
        else:
            sys.exit(f"unknown model {name}")
    if worst > 1e-6:
        sys.exit(f"ziq and transformers disagree: relative nats difference {worst:.2e}")


if __name__ == "__main__":
    main()

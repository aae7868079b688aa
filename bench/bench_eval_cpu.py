#!/usr/bin/env python3
"""Scoring throughput on the CPU: ziq against transformers (torch), same model, same windows, same run.

For each model: a batch of windows of C+1 random token ids (seeded), every target of each window
scored (forward + log-softmax + gather of the next token), the way the paper's script runs a
window. Prints tokens through the model per second for ziq and for transformers, and the ratio,
and checks that both give the same total negative log-likelihood.

Models:
  default  data/default-model (the built-in model), when present;
  qwen2    a Qwen2-0.5B-shaped model with random weights made here with transformers (bf16
           safetensors cached in --cache, never committed).
Both sides run twice: ziq in its default float32 arithmetic and with --precision bf16 (bf16
inputs to matrix products and, on AMX CPUs, to attention; float32 accumulation), transformers in
float32 and in bfloat16. Ratios are
printed at equal precision and against the faster transformers run; each ziq line names its
matrix-product kernel (src/backend/cpu/gemm.h: on a CPU with AMX, amx-bf16x3 is float32-exact).

Context: the paper's 1900 by default (--context 512 for shorter runs).

Needs: a built tree (bash scripts/build.sh: build/bench/ziq_bench_score), torch, transformers.
    python3 bench/bench_eval_cpu.py [--models default,qwen2] [--context 1900] [--windows 4] [--threads N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_qwen2_05b(folder):
    if os.path.exists(os.path.join(folder, "config.json")):
        return folder
    print(f"creating a Qwen2-0.5B-shaped random model in {folder} ...", flush=True)
    cfg = transformers.Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(folder)
    return folder


def run_ziq(args, model_dir, tokens_file, precision):
    exe = os.path.join(args.build, "bench", "ziq_bench_score")
    cmd = [exe, "score", "--model", model_dir, "--tokens", tokens_file, "--context", str(args.context),
           "--batch", str(args.windows), "--threads", str(args.threads), "--repeat", str(args.repeat),
           "--precision", precision]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_transformers(args, model_dir, windows, dtype):
    torch.set_num_threads(args.threads)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    model.eval()
    ids = torch.tensor(windows, dtype=torch.long)

    def once():
        with torch.inference_mode():
            logits = model(ids).logits[:, :-1].float()
            lp = torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:, None])[..., 0]
            return -lp.double().sum().item()

    once()  # warm-up (allocations, oneDNN kernel selection)
    best, nll = 1e30, None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        nll = once()
        best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "tokens_per_s": len(windows) * args.context / best, "nll": nll}


def bench(args, name, model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    rng = np.random.default_rng(0)
    windows = rng.integers(0, cfg["vocab_size"], size=(args.windows, args.context + 1), dtype=np.int32)
    with tempfile.NamedTemporaryFile(suffix=".i32", delete=False) as f:
        f.write(windows.astype("<i4").tobytes())
        tokens_file = f.name
    try:
        z32 = run_ziq(args, model_dir, tokens_file, "f32")
        z16 = run_ziq(args, model_dir, tokens_file, "bf16")
    finally:
        os.unlink(tokens_file)
    t32 = run_transformers(args, model_dir, windows.tolist(), torch.float32)
    t16 = run_transformers(args, model_dir, windows.tolist(), torch.bfloat16)
    print(f"\n{name}: {cfg.get('architectures', ['?'])[0]}, {args.windows} windows x {args.context + 1} tokens, "
          f"{args.threads} threads, torch {torch.__version__}, transformers {transformers.__version__}")
    for label, r in [("ziq f32 (default)", z32), ("ziq bf16", z16), ("transformers float32", t32),
                     ("transformers bfloat16", t16)]:
        kernel = f"  [{r['gemm']}]" if "gemm" in r else ""
        print(f"  {label:22s} {r['tokens_per_s']:10.1f} tokens/s  ({r['seconds']:7.2f} s)  nll {r['nll']:.6f}{kernel}")
    best_t = max(t32["tokens_per_s"], t16["tokens_per_s"])
    print(f"  ratio, same precision:  f32 {z32['tokens_per_s'] / t32['tokens_per_s']:.2f}x   "
          f"bf16 {z16['tokens_per_s'] / t16['tokens_per_s']:.2f}x")
    print(f"  ratio, ziq default (f32) / faster transformers: {z32['tokens_per_s'] / best_t:.2f}x   "
          f"ziq bf16 / faster transformers: {z16['tokens_per_s'] / best_t:.2f}x")
    rel = abs(z32["nll"] - t32["nll"]) / abs(t32["nll"])
    rel16 = abs(z16["nll"] - t32["nll"]) / abs(t32["nll"])
    print(f"  |nll - nll transformers float32| / nll: ziq f32 {rel:.2e}, ziq bf16 {rel16:.2e}, "
          f"transformers bfloat16 {abs(t16['nll'] - t32['nll']) / abs(t32['nll']):.2e}")
    return rel


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="default,qwen2")
    ap.add_argument("--context", type=int, default=1900)
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "ziq-bench-models"))
    args = ap.parse_args()
    worst = 0.0
    for name in args.models.split(","):
        if name == "default":
            folder = os.path.join(ROOT, "data", "default-model")
            if not os.path.exists(os.path.join(folder, "config.json")):
                print(f"default: {folder} not present, skipped")
                continue
        elif name == "qwen2":
            folder = make_qwen2_05b(os.path.join(args.cache, "qwen2-0.5b-random"))
        else:
            sys.exit(f"unknown model {name}")
        worst = max(worst, bench(args, name, folder))
    if worst > 1e-4:
        sys.exit(f"ziq and transformers disagree: relative nll difference {worst:.2e}")


if __name__ == "__main__":
    main()

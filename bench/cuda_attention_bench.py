#!/usr/bin/env python3
"""ziq's CUDA attention beside torch's scaled_dot_product_attention, on one GPU, in one run.

Runs build/bench/ziq_cuda_attention_bench (bf16 flash kernel, causal, 8 packed windows of 1900
tokens) and times torch.nn.functional.scaled_dot_product_attention (bf16, is_causal, GQA through
enable_gqa) on the same shapes, both as TFLOP/s counting causal FLOPs (4 * L^2 / 2 * d * heads per
sequence), and prints the ratio.

    python3 bench/cuda_attention_bench.py [--bin build/bench/ziq_cuda_attention_bench]
"""
import argparse
import json
import subprocess
import sys


def torch_tflops(heads, kv_heads, d, seqs, length, reps=20):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    q = torch.rand(seqs, heads, length, d, device="cuda", dtype=torch.bfloat16) * 2 - 1
    k = torch.rand(seqs, kv_heads, length, d, device="cuda", dtype=torch.bfloat16) * 2 - 1
    v = torch.rand(seqs, kv_heads, length, d, device="cuda", dtype=torch.bfloat16) * 2 - 1
    gqa = heads != kv_heads

    def call():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)

    for _ in range(3):
        call()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        call()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    ms = times[len(times) // 2]
    flops = 4.0 * length * length / 2.0 * d * heads * seqs
    return ms, flops / (ms * 1e-3) / 1e12


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/bench/ziq_cuda_attention_bench")
    ap.add_argument("--seqs", type=int, default=8)
    ap.add_argument("--len", type=int, default=1900)
    args = ap.parse_args()

    run = subprocess.run([args.bin, "--seqs", str(args.seqs), "--len", str(args.len)], capture_output=True,
                         text=True)
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        sys.stderr.write(run.stderr)
        sys.exit(run.returncode)
    rows = [json.loads(line[5:]) for line in run.stdout.splitlines() if line.startswith("JSON ")]

    import torch
    print(f"\ntorch {torch.__version__}, {torch.cuda.get_device_name()}")
    print(f"{'shape':<24} {'ziq bf16 TFLOP/s':>17} {'torch SDPA TFLOP/s':>19} {'ratio':>7}")
    seen = set()
    for r in rows:
        if r["kernel"] != "ziq bf16" or r["shape"] in seen:
            continue
        seen.add(r["shape"])
        try:
            _, t = torch_tflops(r["heads"], r["kv_heads"], r["d"], args.seqs, args.len)
        except Exception as e:  # a shape torch's kernels refuse
            print(f"{r['shape']:<24} {r['tflops']:>17.1f} {'failed: ' + type(e).__name__:>19}")
            continue
        print(f"{r['shape']:<24} {r['tflops']:>17.1f} {t:>19.1f} {r['tflops'] / t:>6.2f}x")


if __name__ == "__main__":
    main()

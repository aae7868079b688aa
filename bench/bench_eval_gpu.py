#!/usr/bin/env python3
"""Scoring throughput on one GPU: ziq's CUDA backend against transformers, same shapes, same windows, same run.

For each model shape (config.json only; no checkpoint is needed): a stream of seeded random token
ids cut into the paper's windows (C = 1900, stride 512: window 0 scores all 1900 targets, the
others their last 512), scored
  - by `ziq bench --random-weights --backend cuda` (seeded random bf16 weights made on the GPU;
    --precision bf16: bf16 weights and activations, float32 accumulation, float64 sums), and
  - by transformers (bfloat16, attn_implementation="sdpa", random init on the GPU), which runs the
    decoder on each batch of windows and the head only on the scored positions (log-softmax in
    float32, gathered at the targets): a stronger baseline than the paper's script, which computes
    the full [window, vocab] logits. Its batch size is the best of --hf-batches. At that batch size
    it also runs the paper script's way (full logits from model(ids).logits, log-softmax in float32,
    gathered at the scored targets), what users of the paper's code run today.
The two sides have different random weights (each its own init), so their nats are not compared
here: exactness is checked on real checkpoints by tests (tests/backend, tests/python, goldens).
Prints per shape: scored tokens/s and tokens through the model per second for both, the ratio,
and model FLOP utilisation (products, causal attention, head on the scored rows) against the
bf16 matrix-product peak of this GPU measured in the same run (torch.matmul, cuBLASLt, 8192^3,
random data). With --profile it also reruns ziq with ZIQ_PROFILE=1 and prints the rate of the
linear layers alone (q/k/v, o, MLP stages, each timed with the stream synchronised).

Shapes: llama2-7b, llama3-8b (128k vocabulary), mistral-7b (sliding window 4096), qwen2-0.5b,
and llama-65b (ziq alone: weights 130 GB in bf16; transformers would need the same memory).

Needs: a CUDA build of ziq (bash scripts/build.sh where nvcc is), torch, transformers.
    python3 bench/bench_eval_gpu.py [--ziq build/ziq] [--shapes llama2-7b,...] [--windows 33]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHAPES = {
    "llama2-7b": ("llama", dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                                rms_norm_eps=1e-5, rope_theta=10000.0)),
    "llama3-8b": ("llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
                                rms_norm_eps=1e-5, rope_theta=500000.0)),
    "mistral-7b": ("mistral", dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                   num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768,
                                   rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=4096)),
    "qwen2-0.5b": ("qwen2", dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                 num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                                 rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True)),
    "llama-65b": ("llama", dict(vocab_size=32000, hidden_size=8192, intermediate_size=22016, num_hidden_layers=80,
                                num_attention_heads=64, num_key_value_heads=64, max_position_embeddings=2048,
                                rms_norm_eps=1e-5, rope_theta=10000.0)),
}
ZIQ_ONLY = {"llama-65b"}


def make_config(name):
    family, kw = SHAPES[name]
    cls = {"llama": transformers.LlamaConfig, "mistral": transformers.MistralConfig,
           "qwen2": transformers.Qwen2Config}[family]
    kw = dict(kw)
    theta = kw.pop("rope_theta")
    return cls(**kw, rope_parameters={"rope_type": "default", "rope_theta": theta})


def model_flops(cfg, windows, context, stride):
    """FLOPs of the paper's windows: 2 per parameter of the layers' products per token, causal
    attention (4 * heads * head_dim per (query, key) pair; a sliding window caps the pairs), and
    the head on the scored rows only."""
    H, I, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    D = getattr(cfg, "head_dim", None) or H // cfg.num_attention_heads
    linear = L * (H * D * (2 * cfg.num_attention_heads + 2 * cfg.num_key_value_heads) + 3 * H * I)
    win = getattr(cfg, "sliding_window", None) or 0
    pairs = sum(min(i + 1, win) if win else i + 1 for i in range(context))
    scored = context + (windows - 1) * stride
    tokens = windows * context
    return (2 * linear * tokens + 4 * L * cfg.num_attention_heads * D * pairs * windows
            + 2 * cfg.vocab_size * H * scored), tokens, scored, linear


def gemm_peak():
    """bf16 matrix-product rate of this GPU: torch.matmul (cuBLASLt), 8192^3, random data, median of 20."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        a @ b
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    times.sort()
    return 2 * 8192 ** 3 / times[len(times) // 2]


def windows_of(stream, context, stride, n):
    return [stream[w * stride: w * stride + context + 1] for w in range(n)]


@torch.no_grad()
def hf_score(model, wins, batch, context, stride, full_logits=False):
    """Seconds and total nats of transformers on these windows, `batch` at a time: the head on the
    scored positions only, or (full_logits) the paper script's full logits of every position."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    nats = torch.zeros((), dtype=torch.float64, device="cuda")
    for b0 in range(0, len(wins), batch):
        ids = torch.stack(wins[b0:b0 + batch]).cuda()
        if full_logits:
            logits = model(input_ids=ids[:, :-1]).logits
        else:
            h = model.model(input_ids=ids[:, :-1]).last_hidden_state
        for i in range(ids.shape[0]):
            first = 0 if b0 + i == 0 else context - stride
            row = logits[i, first:].float() if full_logits else model.lm_head(h[i, first:]).float()
            lp = torch.log_softmax(row, dim=-1).gather(1, ids[i, first + 1:, None])
            nats -= lp.double().sum()
    torch.cuda.synchronize()
    return time.perf_counter() - t0, float(nats)


def run_ziq(args, cfg_dir, tokens_file, profile=False):
    cmd = [args.ziq, "bench", "--model", cfg_dir, "--random-weights", "--backend", "cuda", "--precision", "bf16",
           "--tokens", tokens_file, "--context", str(args.context), "--stride", str(args.stride),
           "--windows", str(args.windows), "--repeat", str(args.repeat), "--json"]
    if args.batch:
        cmd += ["--batch", str(args.batch)]
    env = dict(os.environ, ZIQ_PROFILE="1") if profile else None
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return json.loads(out.stdout), out.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ziq", default=os.path.join(ROOT, "build", "ziq"))
    ap.add_argument("--shapes", default="qwen2-0.5b,llama2-7b,llama3-8b,mistral-7b,llama-65b")
    ap.add_argument("--context", type=int, default=1900)
    ap.add_argument("--stride", type=int, default=512)
    ap.add_argument("--windows", type=int, default=33)
    ap.add_argument("--batch", type=int, default=0, help="ziq's windows per call (0: its choice)")
    ap.add_argument("--hf-batches", default="4,8,16")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--full-logits", action="store_true", help="also time transformers the paper script's way")
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    props = torch.cuda.get_device_properties(0)
    peak = gemm_peak()
    print(f"GPU {props.name}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"CUDA {torch.version.cuda}; bf16 matmul peak (8192^3, torch/cuBLASLt) {peak / 1e12:.0f} TFLOP/s", flush=True)
    rows = []
    tmp = tempfile.mkdtemp(prefix="ziq-gpu-bench-")
    for name in args.shapes.split(","):
        cfg = make_config(name)
        cfg_dir = os.path.join(tmp, name)
        os.makedirs(cfg_dir, exist_ok=True)
        cfg.architectures = [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                              "qwen2": "Qwen2ForCausalLM"}[SHAPES[name][0]]]
        cfg.save_pretrained(cfg_dir)
        g = torch.Generator().manual_seed(0)
        n_tokens = (args.windows - 1) * args.stride + args.context + 1
        stream = torch.randint(0, cfg.vocab_size, (n_tokens,), generator=g, dtype=torch.int32)
        tokens_file = os.path.join(cfg_dir, "tokens.i32")
        stream.numpy().astype("<i4").tofile(tokens_file)
        flops, through, scored, linear = model_flops(cfg, args.windows, args.context, args.stride)

        z, err = run_ziq(args, cfg_dir, tokens_file)
        if z is None:
            print(f"{name}: ziq failed: {err}", flush=True)
            rows.append((name, None, None, None, None, err.splitlines()[-1] if err else "?", None))
            continue
        zt = z["seconds"]
        line = (f"{name}: ziq {scored / zt:.0f} scored tok/s ({through / zt:.0f} through), "
                f"{flops / zt / 1e12:.0f} TFLOP/s = {flops / zt / peak:.0%} of peak, batch {z['batch']}, "
                f"load {z['load_seconds']:.1f} s, peak memory {z['peak_device_memory_bytes'] / 2**30:.1f} GiB")
        print(line, flush=True)
        lin = None
        if args.profile:
            zp, perr = run_ziq(args, cfg_dir, tokens_file, profile=True)
            if zp is not None:
                secs = {}
                for l in perr.splitlines():
                    p = l.split()
                    if len(p) >= 4 and p[0] == "profile" and p[3] == "s":
                        secs[p[1]] = float(p[2])
                # The profile leaves out the first forward pass (the warm-up batch): the timed repeats.
                lin_tokens = through * args.repeat
                t_lin = secs.get("qkv", 0) + secs.get("out_proj", 0) + secs.get("mlp", 0)
                if t_lin > 0:
                    lin = 2 * linear * lin_tokens / t_lin
                    print(f"  profile (stream synchronised per stage): {secs}; linear layers "
                          f"{lin / 1e12:.0f} TFLOP/s = {lin / peak:.0%} of peak", flush=True)
        if name in ZIQ_ONLY:
            rows.append((name, z, zt, None, None, lin, None))
            continue

        wins = windows_of(stream.long(), args.context, args.stride, args.windows)
        with torch.device("cuda"):
            model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16,
                                                                  attn_implementation="sdpa")
        model.eval()
        best = None
        for hb in [int(b) for b in args.hf_batches.split(",")]:
            try:
                hf_score(model, wins[:hb], hb, args.context, args.stride)  # warm-up
                t, nats = min(hf_score(model, wins, hb, args.context, args.stride) for _ in range(args.repeat))
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                print(f"  transformers batch {hb}: out of memory", flush=True)
                continue
            print(f"  transformers batch {hb}: {scored / t:.0f} scored tok/s", flush=True)
            if best is None or t < best[0]:
                best = (t, hb)
        ht, hb = best
        full = None
        if args.full_logits:
            try:
                hf_score(model, wins[:hb], hb, args.context, args.stride, full_logits=True)
                full = min(hf_score(model, wins, hb, args.context, args.stride, full_logits=True)[0]
                           for _ in range(args.repeat))
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
        del model
        torch.cuda.empty_cache()
        print(f"{name}: transformers {scored / ht:.0f} scored tok/s (batch {hb}), {flops / ht / 1e12:.0f} TFLOP/s "
              f"= {flops / ht / peak:.0%}; ziq / transformers = {ht / zt:.2f}x"
              + (f"; with full logits (the paper's script) {scored / full:.0f} scored tok/s, ziq = {full / zt:.2f}x"
                 if full else ""), flush=True)
        rows.append((name, z, zt, ht, hb, lin, full))

    print(f"\n| shape | ziq scored tok/s | transformers scored tok/s (batch) | ratio | ziq MFU | "
          f"transformers MFU | ziq linear layers | ziq batch, peak memory | transformers full logits, ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for name, z, zt, ht, hb, lin, full in rows:
        if z is None:
            print(f"| {name} | failed: {lin} | | | | | | | |")
            continue
        flops, through, scored, _ = model_flops(make_config(name), args.windows, args.context, args.stride)
        hf = f"{scored / ht:.0f} ({hb})" if ht else "—"
        ratio = f"{ht / zt:.2f}x" if ht else "—"
        hmfu = f"{flops / ht / peak:.0%}" if ht else "—"
        lin_s = f"{lin / peak:.0%}" if lin else "—"
        full_s = f"{scored / full:.0f}, {full / zt:.2f}x" if full else "—"
        print(f"| {name} | {scored / zt:.0f} | {hf} | {ratio} | {flops / zt / peak:.0%} | {hmfu} | {lin_s} | "
              f"{z['batch']}, {z['peak_device_memory_bytes'] / 2**30:.1f} GiB | {full_s} |")


if __name__ == "__main__":
    sys.exit(main())

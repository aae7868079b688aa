#!/usr/bin/env python3
"""Scoring throughput on the CPU: ziq against llama.cpp, same model, same windows, same threads, same run.

What it measures: for each model, context C and precision, a set of windows of C+1 random token
ids (seeded; the same file for both tools), every target of each window scored: the first C tokens
through the model, the log-probability of the next token at every position, summed (what BPC
needs). Prints tokens through the model per second for ziq and for llama.cpp, the ratio, and both
tools' total negative log-likelihood (nats), which must agree (float32: within 1e-4 relative, else
the run exits 1).

  ziq        build/bench/ziq_bench_score score (bench/bench_score.cpp), --precision f32 or bf16;
  llama.cpp  .llamacpp/bin/ziq_llamacpp_score (bench/llamacpp_score.cpp, our driver over llama.h):
             the same checkpoint converted to GGUF F32 (against ziq f32) and BF16 (against ziq
             bf16) with llama.cpp's own convert_hf_to_gguf.py (with the gguf-py of the same source:
             the gguf package on PyPI, 0.19.0, is older than this converter);
             llama_decode with logits at every position, then log-softmax and the next token's
             log-probability in the driver (timed with the decode). Flash attention on, all
             threads, one context of C tokens per sequence, the KV cache cleared per window, and
             its best of a few configurations (tried each time, all printed): n_batch = the window
             (or S windows as S sequences in one call), n_ubatch = the window or 512, OpenBLAS
             backend on or off (F32 model only: with BF16 weights it converts them to f32 for every
             product, slower), KV cache type (default: F32 for the F32 model, so that both sides
             compute in float32; F16, llama.cpp's default, for the BF16 model).
Timing: ziq runs once, llama.cpp each configuration once, then --rounds (default 2) rounds of ziq
and llama.cpp's fastest configuration one right after the other, so that both meet the same load
on a shared machine; each tool's figure is its best run (the least disturbed), the ratio is best
over best, and the per-round ratios are printed too. Every run is a fresh process that loads the
model first (untimed; llama.cpp also puts 16 tokens through it to fault its mapped weights in).
The windows per figure are --windows (default 1 at 1900, 2 at 512).

Models:
  default  data/default-model, the built-in model (Llama, 5.2M parameters). Its tokenizer is ours,
           unknown to the converter's pre-tokenizer table: the converter is run with that lookup
           answering "default" instead of stopping (the token list is written as is; the scores
           read token ids, so the pre-tokenizer is never used).
  qwen2    a Qwen2-0.5B-shaped model with random weights (bench/bench_eval_cpu.py makes it with
           transformers, bf16 safetensors, in --cache), with the real Qwen2.5 tokenizer files from
           ../shared/data/tokenizers/qwen2_5 (or --qwen-tokenizer) so that the converter knows it.
GGUF files are written to --cache and reused.

How to run (after `bash scripts/build.sh` and `nice bash tools/build_llamacpp.sh`, which fetches
llama.cpp from the llama-cpp-python source package on PyPI and builds it into .llamacpp/):
    python3 bench/bench_eval_llamacpp.py [--models default,qwen2] [--contexts 512,1900]
        [--precisions f32,bf16] [--threads N] [--rounds 2] [--windows N] [--json out.json]
On the GPU machine's Xeon (no network, no compiler; torch and transformers there): here
`bash tools/build_llamacpp.sh --pack` and `bash tools/device_carry.sh`, carry
.llamacpp/llamacpp-carry.tar.xz (7.5 MB), .devcarry and ../shared/data/tokenizers/qwen2_5; there
    mkdir -p .llamacpp && tar xJf .llamacpp/llamacpp-carry.tar.xz -C .llamacpp
    mkdir -p /tmp/z/bench && tar xJf .devcarry/ziqbin.tar.xz -C /tmp/z && cp /tmp/z/bin/ziq_bench_score /tmp/z/bench/
    LD_LIBRARY_PATH=/tmp/z/lib python3 bench/bench_eval_llamacpp.py --build /tmp/z --qwen-tokenizer DIR
(ggml loads its sapphirerapids CPU variant there: AVX-512, AVX512-BF16; the JSON names it.)

Needs (bench/requirements-bench.txt): numpy, torch, transformers, safetensors, sentencepiece (the
converter and the qwen2 model) and gguf's dependencies (pyyaml, tqdm, requests).
"""
import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

# The converter, run in a child process: llama.cpp's own main(), with the pre-tokenizer lookup
# answering "default" for a tokenizer its table does not know (the built-in model's).
CONVERT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from conversion import base
_lookup = base.TextModel.get_vocab_base_pre
def _lookup_or_default(self, tokenizer):
    try:
        return _lookup(self, tokenizer)
    except NotImplementedError:
        print("convert: pre-tokenizer unknown to llama.cpp, written as 'default'", file=sys.stderr)
        return "default"
base.TextModel.get_vocab_base_pre = _lookup_or_default
import convert_hf_to_gguf
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
convert_hf_to_gguf.main()
"""


def to_gguf(args, name, model_dir, outtype):
    out = os.path.join(args.cache, f"{name}-{outtype}.gguf")
    src = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    print(f"converting {name} to GGUF {outtype.upper()} with llama.cpp's convert_hf_to_gguf.py ...", flush=True)
    conv = os.path.join(args.llamacpp, "convert")
    cmd = [sys.executable, "-c", CONVERT, conv, model_dir, "--outtype", outtype, "--outfile", out + ".part"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    os.replace(out + ".part", out)
    return out


def qwen2_model(args):
    from bench_eval_cpu import make_qwen2_05b
    folder = make_qwen2_05b(os.path.join(args.cache, "qwen2-0.5b-random"))
    if not os.path.exists(os.path.join(folder, "tokenizer.json")):
        tok = args.qwen_tokenizer
        with lzma.open(os.path.join(tok, "tokenizer.json.xz")) as f, open(os.path.join(folder, "tokenizer.json"), "wb") as g:
            shutil.copyfileobj(f, g)
        shutil.copy(os.path.join(tok, "tokenizer_config.json"), folder)
    return folder


def run_ziq(args, model_dir, tokens_file, context, windows, precision):
    from bench_eval_cpu import run_ziq as bench_ziq
    ns = types.SimpleNamespace(build=args.build, context=context, windows=windows, threads=args.threads, repeat=1)
    return bench_ziq(ns, model_dir, tokens_file, precision)


def run_llamacpp(args, gguf_file, tokens_file, context, cfg, repeat):
    exe = os.path.join(args.llamacpp, "bin", "ziq_llamacpp_score")
    cmd = [exe, "--model", gguf_file, "--tokens", tokens_file, "--context", str(context), "--threads",
           str(args.threads), "--repeat", str(repeat), "--ubatch", str(cfg["ubatch"]), "--seqs",
           str(cfg["seqs"]), "--kv", cfg["kv"], "--flash-attn", "on"] + (["--blas"] if cfg["blas"] else [])
    # libopenblas, copied beside libggml-blas, finds its Fortran runtime there only through this
    blas_dir = os.path.join(args.llamacpp, "bin", "blas")
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([blas_dir] + [p for p in [os.environ.get("LD_LIBRARY_PATH")] if p]))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def llamacpp_configs(args, context, windows, precision):
    kvs = (args.kv_f32 if precision == "f32" else args.kv_bf16).split(",")
    blases = (args.blas_f32 if precision == "f32" else args.blas_bf16).split(",")
    seqs = sorted({1} | {s for s in map(int, args.seqs.split(",")) if s <= windows and context * s <= 4096})
    configs = []
    for s in seqs:
        for ub in args.ubatch.split(","):
            ub = context * s if ub == "full" else int(ub)
            if ub > context * s or (s > 1 and ub < context * s):
                continue
            for kv in kvs:
                for blas in map(lambda b: b == "on", blases):
                    configs.append({"ubatch": ub, "seqs": s, "kv": kv, "blas": blas})
    uniq = []
    for c in configs:
        if c not in uniq:
            uniq.append(c)
    return uniq


def cfg_label(c):
    return f"ubatch {c['ubatch']}, {c['seqs']} seq, kv {c['kv']}, blas {'on' if c['blas'] else 'off'}"


def bench(args, name, model_dir, context, rows):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    windows = args.windows or (1 if context > 1024 else 2)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg["vocab_size"], size=(windows, context + 1), dtype=np.int32)
    with tempfile.NamedTemporaryFile(suffix=".i32", delete=False) as f:
        f.write(ids.astype("<i4").tobytes())
        tokens_file = f.name
    worst = 0.0
    try:
        for precision in args.precisions.split(","):
            gguf_file = to_gguf(args, name, model_dir, precision)
            print(f"\n{name}, context {context}, {windows} window(s) x {context + 1} tokens, {args.threads} threads, "
                  f"{precision}:", flush=True)

            def ziq_once(label):
                z = run_ziq(args, model_dir, tokens_file, context, windows, precision)
                print(f"  ziq {precision:4s}       {z['tokens_per_s']:9.1f} tokens/s  nll {z['nll']:.6f}  "
                      f"[{z.get('gemm', '?')}]  {label}", flush=True)
                return z

            def llama_once(c, label):
                r = run_llamacpp(args, gguf_file, tokens_file, context, c, 1)
                rel = abs(r["nll"] - z0["nll"]) / abs(z0["nll"])
                print(f"  llama.cpp {precision.upper():4s} {r['tokens_per_s']:9.1f} tokens/s  nll {r['nll']:.6f}  "
                      f"(rel. diff {rel:.1e}; decode {r['decode_seconds']:.2f} s, log-softmax "
                      f"{r['logsoftmax_seconds']:.2f} s)  {cfg_label(c)}  {label}", flush=True)
                return r, rel

            # ziq once, llama.cpp's configurations once each, then --rounds rounds of ziq and
            # llama.cpp's fastest configuration one after the other (so that both meet the same load
            # on a shared machine); each figure is a tool's best run.
            z0 = ziq_once("(first run)")
            zbest = z0
            best = None
            for c in llamacpp_configs(args, context, windows, precision):
                r, rel = llama_once(c, "(sweep)")
                if best is None or r["tokens_per_s"] > best[0]["tokens_per_s"]:
                    best = (r, c, rel)
            round_ratios = []
            for k in range(args.rounds):
                z = ziq_once(f"(round {k + 1})")
                r, rel = llama_once(best[1], f"(round {k + 1})")
                round_ratios.append(z["tokens_per_s"] / r["tokens_per_s"])
                zbest = max(zbest, z, key=lambda x: x["tokens_per_s"])
                if r["tokens_per_s"] > best[0]["tokens_per_s"]:
                    best = (r, best[1], rel)
            z = zbest
            r, c, rel = best
            if precision == "f32":
                worst = max(worst, rel)
            ratio = z["tokens_per_s"] / r["tokens_per_s"]
            rounds = " ".join(f"{x:.2f}" for x in round_ratios)
            print(f"  => best ziq / best llama.cpp: {ratio:.2f}x  (per round: {rounds}; nll ziq {z['nll']:.6f}, "
                  f"llama.cpp {r['nll']:.6f}, rel. diff {rel:.1e})", flush=True)
            rows.append({"model": name, "context": context, "windows": windows, "precision": precision,
                         "threads": args.threads, "ziq_tokens_per_s": z["tokens_per_s"], "ziq_nll": z["nll"],
                         "ziq_gemm": z.get("gemm"), "llamacpp_tokens_per_s": r["tokens_per_s"],
                         "llamacpp_nll": r["nll"], "llamacpp_config": c, "ratio": ratio, "round_ratios": round_ratios,
                         "nll_rel_diff": rel,
                         "llamacpp_devices": r["devices"], "llamacpp_cpu_variant": r.get("cpu_variant"),
                         "llamacpp_system_info": r["system_info"]})
    finally:
        os.unlink(tokens_file)
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="default,qwen2")
    ap.add_argument("--contexts", default="512,1900")
    ap.add_argument("--precisions", default="f32,bf16")
    ap.add_argument("--windows", type=int, default=0, help="windows per figure (default 1 at C > 1024, else 2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=2, help="rounds of ziq and llama.cpp's fastest configuration")
    ap.add_argument("--ubatch", default="full,512", help="llama.cpp n_ubatch values tried ('full' = n_batch)")
    ap.add_argument("--seqs", default="1,2", help="windows per llama_decode tried (S sequences, S*C <= 4096)")
    ap.add_argument("--blas-f32", default="off,on", help="llama.cpp's OpenBLAS backend with the F32 model: off, on or both")
    ap.add_argument("--blas-bf16", default="off", help="the same with the BF16 model (BLAS converts its weights to f32 "
                    "for each product: slower)")
    ap.add_argument("--kv-f32", default="f32", help="llama.cpp KV cache types tried with the F32 model")
    ap.add_argument("--kv-bf16", default="f16", help="llama.cpp KV cache types tried with the BF16 model")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--llamacpp", default=os.path.join(ROOT, ".llamacpp"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "ziq-bench-models"))
    ap.add_argument("--qwen-tokenizer", default=os.path.join(
        os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")), "tokenizers", "qwen2_5"))
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    info = os.path.join(args.llamacpp, "build-info.json")
    if not os.path.exists(os.path.join(args.llamacpp, "bin", "ziq_llamacpp_score")):
        sys.exit(f"no llama.cpp build in {args.llamacpp}: run tools/build_llamacpp.sh")
    version = json.load(open(info)).get("llama_cpp_python", "?") if os.path.exists(info) else "?"
    rows, worst = [], 0.0
    for name in args.models.split(","):
        if name == "default":
            folder = os.path.join(ROOT, "data", "default-model")
        elif name == "qwen2":
            folder = qwen2_model(args)
        else:
            sys.exit(f"unknown model {name}")
        for context in map(int, args.contexts.split(",")):
            worst = max(worst, bench(args, name, folder, context, rows))

    print(f"\nziq vs llama.cpp (llama-cpp-python {version} sdist), {args.threads} threads, best of {args.rounds + 1} "
          f"runs each; tokens/s through the model, every target scored")
    if rows:
        print(f"  {rows[0]['llamacpp_devices']}; llama.cpp's CPU backend {rows[0]['llamacpp_cpu_variant']}: "
              f"{rows[0]['llamacpp_system_info']}")
    print("| model | context | precision | ziq tok/s | llama.cpp tok/s | ratio | ziq nll | llama.cpp nll | rel. diff | llama.cpp config |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['context']} | {r['precision']} | {r['ziq_tokens_per_s']:.1f} | "
              f"{r['llamacpp_tokens_per_s']:.1f} | {r['ratio']:.2f}x | {r['ziq_nll']:.4f} | {r['llamacpp_nll']:.4f} | "
              f"{r['nll_rel_diff']:.1e} | {cfg_label(r['llamacpp_config'])} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"llama_cpp_python": version, "threads": args.threads, "rounds": args.rounds, "rows": rows}, f,
                      indent=1)
    if worst > 1e-4:
        sys.exit(f"ziq and llama.cpp disagree in float32: relative nll difference {worst:.2e}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The paper's BPC, computed on Hugging Face transformers: goldens for `ziq eval`.

A direct transcription of DESIGN.md's "paper" protocol (the reference script of "Compression
Represents Intelligence Linearly"), run in float32 on the CPU for the tiny checkpoints under
tests/data/models over the three corpora in ../shared/data/corpora, one subset (file) at a time:

  1. drop documents whose content is empty; characters = sum of len(content) (code points);
  2. encode each document as tokenizer.encode(text) does by default (special tokens added) and
     concatenate them, in order, into one stream S of N tokens;
  3. C = 1900, s = 512, B = C + 1; W = (N - B) // s + 1 windows, window w = S[w*s, w*s + B);
  4. window 0 scores targets 1..B-1; window w >= 1 only its last s targets;
  5. loss = sum of -ln p(target); BPC = loss / (characters * ln 2).

Tokenizers follow the files: a model folder with tokenizer.json goes through Hugging Face
`tokenizers` (Tokenizer.from_file(...).encode(text), special tokens added by the file's
post-processor; transformers 5's AutoTokenizer departs from the file on some whitespace runs), a
folder with only a SentencePiece tokenizer.model is encoded as transformers 4's slow
LlamaTokenizer does by default (legacy, the paper's era): the text is split at the special-token
texts <s>, </s>, <unk>, each plain piece goes to sentencepiece's encode, BOS is put first.

The logits are computed only at scored positions (hidden states of the scored positions through
lm_head, Gemma 2's final_logit_softcapping as its forward applies it, then log_softmax and gather):
the same numbers as the full logits' cross-entropy, without holding a 151k-vocabulary logit tensor
for every position. A model folder may hold tokenizer.json.xz instead of tokenizer.json.

Corpus rule: --max-chars K takes, from each corpus file, the first documents in file order up to
and including the one at which the characters reach K; 0 (the default, and what
tests/data/bpc_golden.json holds) takes the whole files.

Arithmetic: float32 weights and activations, eager attention, the loss summed in float64. On a GPU
(--device cuda) TF32 is switched off, so matrix products are true float32 like the CPU's; the
committed goldens were made that way on an H200 (the CPU takes hours for the whole corpora on two
cores). `--check FILE` compares the run with an earlier golden file (say, a CPU run on prefixes)
and prints the largest relative BPC difference.

--dtype bfloat16 runs transformers' own bfloat16 forward instead (weights and activations bf16,
SDPA attention, logits upcast to float32 before the log-softmax, the loss still summed in
float64): what a user running transformers in bf16 gets, to compare ziq's bf16 error with
(tests/python/test_gpu_eval.py).

Needs torch, transformers, tokenizers, sentencepiece (not in CI; the output is committed). From
the repo root:
    python3 tools/reference_bpc.py --device cuda        # writes tests/data/bpc_golden.json
    python3 tools/reference_bpc.py --max-chars 200000 --out /tmp/prefix.json   # CPU, prefixes
"""
import argparse
import hashlib
import json
import lzma
import math
import os
import re
import sys
import time

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
MODELS = os.path.join(ROOT, "tests", "data", "models")
CORPORA = ["cc", "python", "arxiv_math"]
# One of each tokenizer family and architecture: SentencePiece .model (Llama-2), tokenizer.json
# with BOS (Mistral v0.3, sliding window), byte-level BPE without BOS (Qwen2.5, q/k/v biases),
# GQA with head_dim != hidden/heads and f16 weights.
DEFAULT_MODELS = ["llama_rope_llama3", "llama_gqa_headdim", "mistral", "qwen2"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_documents(corpus, max_chars):
    """Documents of one corpus file, in order, under the prefix rule; empty ones kept (step 1 drops them)."""
    docs, chars = [], 0
    with lzma.open(os.path.join(SHARED, "corpora", corpus + ".jsonl.xz"), "rt", encoding="utf-8") as f:
        for line in f:
            content = json.loads(line)["content"]
            docs.append(content)
            chars += len(content)
            if max_chars and chars >= max_chars:
                break
    return docs


class SlowLlamaLegacy:
    """transformers 4's LlamaTokenizer (slow, legacy=True, add_bos_token=True) on plain text."""

    def __init__(self, path):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor(model_file=path)
        self.special = {"<s>": self.sp.bos_id(), "</s>": self.sp.eos_id(), "<unk>": self.sp.unk_id()}
        self.split = re.compile("(" + "|".join(re.escape(t) for t in self.special) + ")")

    def encode(self, text):
        ids = [self.sp.bos_id()]
        for part in self.split.split(text):
            if part in self.special:
                ids.append(self.special[part])
            elif part:
                ids.extend(self.sp.encode(part))
        return ids


def load_tokenizer(folder):
    if os.path.exists(os.path.join(folder, "tokenizer.json")):
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        return (lambda text: tok.encode(text).ids), f"tokenizers {tokenizers.__version__} Tokenizer.from_file(tokenizer.json).encode"
    if os.path.exists(os.path.join(folder, "tokenizer.json.xz")):  # as ../shared keeps them; ziq reads it so
        import tokenizers
        with lzma.open(os.path.join(folder, "tokenizer.json.xz"), "rt", encoding="utf-8") as f:
            tok = tokenizers.Tokenizer.from_str(f.read())
        return (lambda text: tok.encode(text).ids), f"tokenizers {tokenizers.__version__} Tokenizer.from_str(tokenizer.json.xz).encode"
    tok = SlowLlamaLegacy(os.path.join(folder, "tokenizer.model"))
    return tok.encode, "sentencepiece, as transformers 4 LlamaTokenizer (slow, legacy) encode"


@torch.no_grad()
def paper_nats(model, S, device, context=1900, stride=512, batch=4):
    """Steps 3-5: the sum of -ln p over the paper's scored targets, f64, in window order."""
    B = context + 1
    N = len(S)
    if N < B:
        return None, 0, 0
    W = (N - B) // stride + 1
    stream = torch.tensor(S, dtype=torch.long, device=device)
    total, scored = 0.0, 0
    for w0 in range(0, W, batch):
        ws = list(range(w0, min(W, w0 + batch)))
        x = torch.stack([stream[w * stride: w * stride + B] for w in ws])
        hidden = model.model(input_ids=x[:, :-1]).last_hidden_state  # position j predicts x[j + 1]
        for i, w in enumerate(ws):
            first = 1 if w == 0 else B - stride  # first scored target inside the window
            h = hidden[i, first - 1:]
            logits = model.lm_head(h)
            cap = getattr(model.config, "final_logit_softcapping", None)
            if cap is not None:  # as Gemma2ForCausalLM.forward does after lm_head
                logits = torch.tanh(logits / cap) * cap
            logp = torch.log_softmax(logits.float(), dim=-1)
            target = x[i, first:]
            nll = -logp.gather(1, target[:, None])[:, 0]
            total += float(nll.double().sum().cpu())
            scored += len(target)
    return total, scored, W


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--max-chars", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch", type=int, default=0, help="windows per forward (default: 4 on cpu, 32 on cuda)")
    ap.add_argument("--check", help="an earlier golden file to compare with (entries of the same model and corpus)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "bpc_golden.json"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--models-dir", default=MODELS)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batch = args.batch or (32 if device.type == "cuda" else 4)
    if device.type == "cuda":  # true float32 products, as on the CPU
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")

    entries = []
    for name in args.models:
        folder = os.path.join(args.models_dir, name)
        if args.dtype == "bfloat16":
            model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16,
                                                                      attn_implementation="sdpa").to(device)
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                                      attn_implementation="eager").to(device)
        model.eval()
        encode, how = load_tokenizer(folder)
        files = sorted(f for f in os.listdir(folder) if f.endswith((".json", ".safetensors", ".model"))
                       and f != "golden.json")
        for corpus in CORPORA:
            t0 = time.time()
            docs = [d for d in read_documents(corpus, args.max_chars)]
            kept = [d for d in docs if d]
            S = []
            for d in kept:
                S.extend(encode(d))
            chars = sum(len(d) for d in kept)
            nats, scored, windows = paper_nats(model, S, device, batch=batch)
            bpc = None if nats is None else nats / (chars * math.log(2))
            entries.append({
                "model": name,
                "model_files_sha256": {f: sha256_file(os.path.join(folder, f)) for f in files},
                "tokenizer": how,
                "corpus": corpus,
                "corpus_file": f"corpora/{corpus}.jsonl.xz",
                "documents_read": len(docs),
                "documents": len(kept),
                "characters": chars,
                "bytes": sum(len(d.encode("utf-8")) for d in kept),
                "tokens": len(S),
                "scored_tokens": scored,
                "windows": windows,
                "nats": nats,
                "bpc": bpc,
            })
            print(f"{name:20s} {corpus:10s} docs {len(kept):4d} chars {chars:8d} tokens {len(S):8d} "
                  f"windows {windows:5d} bpc {bpc} ({time.time() - t0:.0f} s)", flush=True)

    out = {
        "made_by": "tools/reference_bpc.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "dtype": ("bfloat16, sdpa attention, logits upcast to float32, " if args.dtype == "bfloat16" else
                  "float32 (weights upcast), eager attention, ") + (
            f"CUDA {torch.cuda.get_device_name(device)}, TF32 off" if device.type == "cuda" else "CPU"),
        "protocol": {"name": "paper", "context": 1900, "stride": 512},
        "corpus_rule": (f"first documents of each corpus file up to and including the one at which the "
                        f"characters reach {args.max_chars}" if args.max_chars else "whole corpus files"),
        "max_chars": args.max_chars,
        "entries": entries,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", args.out)
    if args.check:
        old = {(e["model"], e["corpus"]): e for e in json.load(open(args.check))["entries"]}
        worst = 0.0
        for e in entries:
            o = old.get((e["model"], e["corpus"]))
            if o and o["tokens"] == e["tokens"] and o["bpc"] is not None:
                rel = abs(e["bpc"] - o["bpc"]) / o["bpc"]
                worst = max(worst, rel)
                print(f"check {e['model']:20s} {e['corpus']:10s} rel diff {rel:.2e}")
            elif o:
                print(f"check {e['model']:20s} {e['corpus']:10s} tokens {e['tokens']} vs {o['tokens']}: not comparable")
        print(f"check against {args.check}: largest relative BPC difference {worst:.2e}")


if __name__ == "__main__":
    sys.exit(main())

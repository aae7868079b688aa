#!/usr/bin/env python3
"""Tiny random checkpoints of every architecture ziq runs, and transformers' log-probabilities on them.

Each model is made with transformers' own config and model classes (seeded), saved as safetensors
under tests/data/models/<name>/ with a real tokenizer copied from ../shared/data/tokenizers, and
golden.json holds float32 per-token log-probabilities that transformers computes on the saved
weights (model loaded back in float32, eager attention) for a few fixed token sequences, one of
about 2000 tokens so long context and rope scaling are exercised.

Needs torch and transformers (not in CI; the outputs are committed). Rerun from the repo root:
    python3 tools/make_tiny_models.py            # every model
    python3 tools/make_tiny_models.py NAME...    # only these (e.g. llama_hd128 mistral_hd64)
The outputs are deterministic for a given torch/transformers version (here torch 2.15, transformers 5.24).
"""
import json
import lzma
import os
import shutil
import sys

import torch
import transformers
from transformers import (Gemma2Config, Gemma2ForCausalLM, GemmaConfig, GemmaForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Olmo2Config,
                          Olmo2ForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "models")
# ../shared next to the repository (CI, main checkout), or ZIQ_SHARED_DATA for other worktrees.
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
TOK = os.path.join(SHARED, "tokenizers")

SEQ_LENGTHS = [2, 17, 300, 2000]


def copy_tokenizer(src_name, dst):
    src = os.path.join(TOK, src_name)
    for f in sorted(os.listdir(src)):
        if f.endswith(".xz"):
            with lzma.open(os.path.join(src, f)) as i, open(os.path.join(dst, f[:-3]), "wb") as o:
                shutil.copyfileobj(i, o)
        elif f.endswith(".v3"):  # mistral v0.3's sentencepiece file; tokenizer.json is the reference
            continue
        else:
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))


def link_tokenizer(model_name, dst):
    """The tokenizer files of another tiny model (identical files), as relative symlinks."""
    src = os.path.join(OUT, model_name)
    for f in sorted(os.listdir(src)):
        if f.startswith("tokenizer") or f == "special_tokens_map.json":
            os.symlink(os.path.join("..", model_name, f), os.path.join(dst, f))


def randomize(model, seed, norm_center=1.0):
    """Default init leaves norms at 1 and biases at 0, which would hide a missing norm or bias.
    norm_center: 0 for Gemma, whose norms multiply by (1 + w)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(norm_center + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def sequences(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (n,), generator=g).tolist() for n in SEQ_LENGTHS]


def golden(folder, seqs):
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = []
    for toks in seqs:
        # A fresh rotary state per sequence: dynamic NTK scaling caches the longest length seen.
        if hasattr(model.model, "rotary_emb"):
            rot = model.model.rotary_emb
            rot.inv_freq.copy_(rot.original_inv_freq)
            rot.max_seq_len_cached = rot.original_max_seq_len
        with torch.no_grad():
            logits = model(torch.tensor([toks])).logits[0].float()
        lp = torch.log_softmax(logits, dim=-1)[:-1].gather(1, torch.tensor(toks[1:])[:, None])[:, 0]
        out.append({"tokens": toks, "logprobs": [float(x) for x in lp]})
    return out


def save(name, model, tokenizer, seed, dtype=torch.bfloat16, shard=None, config_edit=None):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.to(dtype)
    kw = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(folder, **kw)
    if config_edit:
        path = os.path.join(folder, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg = config_edit(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
    if tokenizer.startswith("model:"):
        link_tokenizer(tokenizer[len("model:"):], folder)
    elif tokenizer.startswith("xz:"):  # tokenizer.json kept xz-compressed (ziq reads it so) and its config
        src = os.path.join(TOK, tokenizer[len("xz:"):])
        for f in ("tokenizer.json.xz", "tokenizer_config.json"):
            shutil.copy(os.path.join(src, f), os.path.join(folder, f))
    else:
        copy_tokenizer(tokenizer, folder)
    seqs = sequences(model.config.vocab_size, seed + 1)
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump({"made_by": "tools/make_tiny_models.py", "torch": torch.__version__,
                   "transformers": transformers.__version__, "attention": "eager, float32",
                   "sequences": golden(folder, seqs)}, f)
    size = sum(os.path.getsize(os.path.join(folder, x)) for x in os.listdir(folder))
    print(f"{name}: {size / 1e6:.1f} MB")


def llama_base(**kw):
    args = dict(vocab_size=32000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                rms_norm_eps=1e-5, initializer_range=0.2, tie_word_embeddings=False,
                bos_token_id=1, eos_token_id=2)
    args.update(kw)
    return args


def to_transformers4_style(cfg):
    """Old config.json style (transformers 4): rope_theta and rope_scaling at the top level."""
    rp = cfg.pop("rope_parameters")
    cfg["rope_theta"] = rp.pop("rope_theta")
    cfg["rope_scaling"] = rp if rp.get("rope_type", "default") != "default" else None
    if cfg["rope_scaling"] is not None:
        cfg["rope_scaling"]["type"] = cfg["rope_scaling"].pop("rope_type")
    return cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    ONLY.update(sys.argv[1:])

    # Llama 3 style rope scaling: low, medium and high frequencies all present for head_dim 8.
    torch.manual_seed(1)
    cfg = LlamaConfig(**llama_base(rope_parameters={
        "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}))
    _randomized_save(LlamaForCausalLM, cfg, "llama_rope_llama3", "llama2", 100)

    # Linear and dynamic NTK scaling: config variants of the same weights (git stores the
    # identical safetensors once), the linear one written in transformers 4 style.
    cfg = LlamaConfig(**llama_base(rope_parameters={"rope_type": "linear", "rope_theta": 10000.0,
                                                    "factor": 4.0}))
    _randomized_save(LlamaForCausalLM, cfg, "llama_rope_linear", "llama2", 100,
                     config_edit=to_transformers4_style)
    cfg = LlamaConfig(**llama_base(max_position_embeddings=1024, rope_parameters={
        "rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0}))
    _randomized_save(LlamaForCausalLM, cfg, "llama_rope_dynamic", "llama2", 100)

    # GQA with head_dim != hidden/heads, q/k/v/o biases (attention_bias), float16 weights.
    torch.manual_seed(4)
    cfg = LlamaConfig(**llama_base(num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                   attention_bias=True, tie_word_embeddings=True, rope_parameters={"rope_type": "default",
                                                                         "rope_theta": 500000.0}))
    _randomized_save(LlamaForCausalLM, cfg, "llama_gqa_headdim", "llama2", 400, dtype=torch.float16)

    # Mistral v0.3 vocabulary, GQA, a sliding window shorter than the long sequence.
    torch.manual_seed(5)
    cfg = MistralConfig(vocab_size=32768, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                        num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=4096,
                        sliding_window=700, rms_norm_eps=1e-5, initializer_range=0.3,
                        tie_word_embeddings=False, rope_parameters={"rope_type": "default",
                                                                    "rope_theta": 1000000.0})
    _randomized_save(MistralForCausalLM, cfg, "mistral", "mistral_7b_v0_3", 500)

    # Qwen2.5 vocabulary: q/k/v biases, tied embeddings, GQA, sharded checkpoint.
    torch.manual_seed(6)
    cfg = Qwen2Config(vocab_size=151936, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32768,
                      rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    _randomized_save(Qwen2ForCausalLM, cfg, "qwen2", "qwen2_5", 600, shard="2MB")

    # The GPU kernels' real paths: head_dim 128 (Llama-2/3-7B) and 64 (Qwen2-0.5B-like), with
    # real tokenizers; tied embeddings keep the files small.
    torch.manual_seed(7)
    cfg = LlamaConfig(**llama_base(hidden_size=64, intermediate_size=128, num_attention_heads=2,
                                   num_key_value_heads=1, head_dim=128, tie_word_embeddings=True,
                                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0}))
    _randomized_save(LlamaForCausalLM, cfg, "llama_hd128", "llama2", 700)
    torch.manual_seed(8)
    cfg = MistralConfig(vocab_size=32768, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=4096,
                        sliding_window=300, rms_norm_eps=1e-5, initializer_range=0.2,
                        tie_word_embeddings=True, rope_parameters={"rope_type": "default",
                                                                   "rope_theta": 1000000.0})
    _randomized_save(MistralForCausalLM, cfg, "mistral_hd64", "mistral_7b_v0_3", 800)

    # Qwen3: per-head q/k RMSNorm (weights of head_dim) before rope, head_dim 64 from config.json
    # (not hidden / heads), GQA, tied embeddings; the Qwen2.5 tokenizer of the qwen2 model, linked
    # (hidden 8 keeps its 152k-row embedding at 2.4 MB).
    torch.manual_seed(9)
    cfg = Qwen3Config(vocab_size=151936, hidden_size=8, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=32768,
                      rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    _randomized_save(Qwen3ForCausalLM, cfg, "qwen3_hd64", "model:qwen2", 900)

    # OLMo 2: post-norms (after attention and after the MLP, before the residual adds), q/k RMSNorm
    # over the full q and k widths, GQA, head_dim 64 (config's head_dim, which Olmo2 reads when
    # present), tied embeddings; OLMo 2's own (dolma2) tokenizer is not in ../shared, so GPT-2's
    # (OLMo 1's GPT-NeoX tokenizer is of its kind), xz-compressed, vocabulary padded to 50304 as
    # OLMo pads its own.
    torch.manual_seed(10)
    cfg = Olmo2Config(vocab_size=50304, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=4096,
                      rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=True,
                      rope_parameters={"rope_type": "default", "rope_theta": 500000.0})
    _randomized_save(Olmo2ForCausalLM, cfg, "olmo2_hd64", "xz:gpt2", 1000)

    # Gemma 1: embedding scaled by sqrt(hidden), (1 + w) RMSNorms, GeGLU (tanh GELU) MLP, MQA,
    # head_dim 64. Gemma's own 256k vocabulary would make the embedding five times the size, so
    # the GPT-2 tokenizer of the olmo2 model, linked.
    torch.manual_seed(11)
    cfg = GemmaConfig(vocab_size=50304, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=8192,
                      rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=True,
                      hidden_act="gelu_pytorch_tanh",
                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    _randomized_save(GemmaForCausalLM, cfg, "gemma_hd64", "model:olmo2_hd64", 1100, norm_center=0.0)

    # Gemma 2: Gemma's embedding scale, (1 + w) norms and GeGLU, plus pre- and post-norms around
    # attention and MLP, scores scaled by query_pre_attn_scalar^-0.5 (48 here, not head_dim),
    # attention and final logit softcaps small enough (2 and 5; released: 50 and 30) to bend these
    # random scores and logits, and a sliding window (300) on the even layers.
    torch.manual_seed(12)
    cfg = Gemma2Config(vocab_size=50304, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=8192,
                       rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=True,
                       hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=48, sliding_window=300,
                       attn_logit_softcapping=2.0, final_logit_softcapping=5.0,
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    _randomized_save(Gemma2ForCausalLM, cfg, "gemma2_hd64", "model:olmo2_hd64", 1200, norm_center=0.0)


ONLY = set()  # names given on the command line: make only these


def _randomized_save(cls, cfg, name, tokenizer, seed, norm_center=1.0, **kw):
    if ONLY and name not in ONLY:
        return
    torch.manual_seed(seed)
    model = cls(cfg)
    randomize(model, seed, norm_center)
    save(name, model, tokenizer, seed, **kw)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Goldens for tokenizer_config.json's add_bos_token / add_eos_token rule (config_template.json).

transformers 4.x (what the paper ran) builds LlamaTokenizerFast, CodeLlamaTokenizerFast and
GemmaTokenizerFast with a post-processor of its own (update_post_processor):
    [bos_token if add_bos_token (default true)] $A [eos_token if add_eos_token (default false)],
replacing tokenizer.json's; every other class (PreTrainedTokenizerFast, ...) keeps tokenizer.json's
post-processor and ignores those fields. Each case pairs a real tokenizer.json from
../shared/data/tokenizers with a tokenizer_config.json (and optionally special_tokens_map.json)
written here: the DeepSeek layout (LlamaTokenizerFast, add_bos_token true, a ByteLevel tokenizer.json
whose post-processor adds no BOS) is llama3's tokenizer.json under such a config.

Expected ids: the `tokenizers` library's encode(text, add_special_tokens=False) plus the rule
above (bos/eos ids by token_to_id), or its encode(text) as is for the classes the rule leaves
alone. Where transformers 4.x is importable (`pip install "transformers<5"`), every case is also
checked against AutoTokenizer.from_pretrained(folder).encode(text) and the script stops on a
difference (the committed file was checked with transformers 4.46.3, tokenizers 0.20.3).
Rerun from the repository root:  python3 tests/data/tok/make_config_template.py
"""
import json
import lzma
import os
import tempfile

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))

TEXTS = ["Hello world", "", " leading space and\ttab", "def f(x):\n    return x ** 2\n",
         "Ünïcödé — 日本語のテキスト 🙂", "$\\int_0^1 x^2\\,dx = \\frac13$"]

BOS3 = {"__type": "AddedToken", "content": "<|begin_of_text|>", "lstrip": False, "normalized": True, "rstrip": False,
        "single_word": False}
CASES = [
    # DeepSeek's layout: BOS comes from the config alone.
    ("deepseek_layout", "llama3", {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": True,
                                   "add_eos_token": False, "bos_token": BOS3,
                                   "eos_token": "<|end_of_text|>"}, None),
    ("deepseek_layout_eos", "llama3", {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": True,
                                       "add_eos_token": True, "bos_token": BOS3,
                                       "eos_token": "<|end_of_text|>"}, None),
    # Absent add_bos_token: LlamaTokenizerFast's default, true (the slow name loads the fast class).
    ("default_bos", "llama3", {"tokenizer_class": "LlamaTokenizer", "bos_token": "<|begin_of_text|>",
                               "eos_token": "<|end_of_text|>"}, None),
    # add_bos_token false drops the BOS that tokenizer.json's template adds.
    ("no_bos", "mistral_7b_v0_1", {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": False,
                                   "bos_token": "<s>", "eos_token": "</s>"}, None),
    # EOS only; special_tokens_map.json's eos_token wins over tokenizer_config.json's.
    ("eos_from_map", "mistral_7b_v0_1", {"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": False,
                                         "add_eos_token": True, "eos_token": "<unk>"},
     {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}),
    ("gemma_eos", "gemma", {"tokenizer_class": "GemmaTokenizer", "add_bos_token": True,
                            "add_eos_token": True, "bos_token": "<bos>", "eos_token": "<eos>"}, None),
    # Other classes ignore add_bos_token in transformers 4.x: tokenizer.json's post-processor stays.
    ("pretrained_fast_ignores", "llama3", {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": True,
                                           "add_eos_token": True, "bos_token": "<|begin_of_text|>",
                                           "eos_token": "<|end_of_text|>"}, None),
]


def token(v):
    return v["content"] if isinstance(v, dict) else v


def expected(tok, cfg, smap, text):
    cls = cfg.get("tokenizer_class", "").removesuffix("Fast")
    if cls not in ("LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer"):
        return tok.encode(text).ids
    merged = dict(cfg)
    merged.update(smap or {})
    ids = tok.encode(text, add_special_tokens=False).ids
    if cfg.get("add_bos_token", True):
        ids = [tok.token_to_id(token(merged["bos_token"]))] + ids
    if cfg.get("add_eos_token", False):
        ids = ids + [tok.token_to_id(token(merged["eos_token"]))]
    return ids


def main():
    try:
        import transformers
        auto = transformers.AutoTokenizer if transformers.__version__.startswith("4.") else None
    except ImportError:
        auto = None
    out = {"made_by": "tests/data/tok/make_config_template.py", "texts": TEXTS, "cases": [],
           "checked_with_transformers": transformers.__version__ if auto else None}
    for name, shared, cfg, smap in CASES:
        with lzma.open(os.path.join(SHARED, "tokenizers", shared, "tokenizer.json.xz")) as f:
            data = f.read()
        tok = Tokenizer.from_str(data.decode())
        ids = [expected(tok, cfg, smap, t) for t in TEXTS]
        if auto:
            with tempfile.TemporaryDirectory() as d:
                open(os.path.join(d, "tokenizer.json"), "wb").write(data)
                json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"))
                if smap:
                    json.dump(smap, open(os.path.join(d, "special_tokens_map.json"), "w"))
                hf = auto.from_pretrained(d)
                for t, want in zip(TEXTS, ids):
                    got = hf.encode(t)
                    if got != want:
                        raise SystemExit(f"{name}: transformers {got[:5]}...{got[-3:]} != rule {want[:5]}...{want[-3:]}")
        out["cases"].append({"name": name, "tokenizer": shared, "tokenizer_config": cfg,
                             "special_tokens_map": smap, "ids": ids})
        print(name, "ok", ids[0][:3], ids[0][-2:])
    with open(os.path.join(HERE, "config_template.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()

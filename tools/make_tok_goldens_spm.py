#!/usr/bin/env python3
"""Writes tests/data/tok/spm_goldens.json: the ids transformers 4.x's slow LlamaTokenizer
(use_fast=False, the paper's reference for SentencePiece models) gives on the hard set and on the
three shared corpora, for each SentencePiece configuration ziq is tested on.

Needs transformers 4.x (5.x has no slow LlamaTokenizer any more), sentencepiece and protobuf:
    python3 -m venv --system-site-packages /tmp/tf4
    /tmp/tf4/bin/pip install "transformers==4.46.3" "tokenizers==0.20.3" "huggingface_hub==0.26.5" protobuf
    /tmp/tf4/bin/python tools/make_tok_goldens_spm.py      # from the repository root
It also checks that tests/python/spm_tiktoken_reference.py's SlowLlamaReference (what CI uses
with the sentencepiece package alone) gives the same ids everywhere, and stops if not.

Corpora are stored as one FNV-1a 64 hash of the ids per non-empty document (see ids_hash).
"""
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
TESTDATA = os.path.join(ROOT, "tests", "data")
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from spm_tiktoken_reference import SlowLlamaReference, corpus_docs, hard_texts, ids_hash, write_goldens  # noqa: E402

# (name, model, folder); paths are "shared:..." (../shared/data) or "testdata:..." (tests/data).
CONFIGS = [
    ("llama2", "shared:tokenizers/llama2/tokenizer.model", ""),
    ("llama2_nonlegacy", "shared:tokenizers/llama2/tokenizer.model", "testdata:tok/spm_llama2_nonlegacy"),
    ("mistral_7b_v0_3", "shared:tokenizers/mistral_7b_v0_3/tokenizer.model.v3", "shared:tokenizers/mistral_7b_v0_3"),
]
CORPORA = ["cc", "python", "arxiv_math"]


def resolve(p):
    if not p:
        return ""
    kind, rel = p.split(":", 1)
    return os.path.join(SHARED if kind == "shared" else TESTDATA, rel)


def hf_slow(model, folder):
    import transformers
    from transformers import LlamaTokenizer
    assert transformers.__version__.startswith("4."), "needs transformers 4.x (slow LlamaTokenizer)"
    tmp = tempfile.mkdtemp()
    shutil.copy(model, os.path.join(tmp, "tokenizer.model"))
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if folder and os.path.exists(os.path.join(folder, name)):
            shutil.copy(os.path.join(folder, name), tmp)
    return LlamaTokenizer.from_pretrained(tmp)


def main():
    import sentencepiece
    import transformers
    hard = hard_texts(TESTDATA)
    docs = {c: corpus_docs(SHARED, c) for c in CORPORA}
    out = {"generator": "tools/make_tok_goldens_spm.py", "transformers": transformers.__version__,
           "sentencepiece": sentencepiece.__version__, "hash": "FNV-1a 64 over the ids", "configs": []}
    for name, model, folder in CONFIGS:
        hf = hf_slow(resolve(model), resolve(folder))
        ref = SlowLlamaReference(resolve(model), resolve(folder))
        entry = {"name": name, "model": model, "folder": folder, "legacy": hf.legacy, "hard": [], "hard_bare": [],
                 "corpora": {}}
        for text in hard:
            ids, bare = hf.encode(text), hf.encode(text, add_special_tokens=False)
            if ids != ref.encode(text) or bare != ref.encode(text, add_special=False):
                sys.exit(f"{name}: the Python reference differs from transformers on {text!r}:\n{ids}\n{ref.encode(text)}")
            entry["hard"].append(ids)
            entry["hard_bare"].append(bare)
        for corpus in CORPORA:
            hashes, tokens = [], 0
            for d in docs[corpus]:
                ids = hf.encode(d)
                if ids != ref.encode(d):
                    sys.exit(f"{name}: the Python reference differs from transformers on a {corpus} document")
                hashes.append(ids_hash(ids))
                tokens += len(ids)
            entry["corpora"][corpus] = {"tokens": tokens, "hashes": hashes}
            print(f"{name} {corpus}: {len(hashes)} documents, {tokens} tokens")
        out["configs"].append(entry)
    write_goldens(os.path.join(TESTDATA, "tok", "spm_goldens.json"), out)


if __name__ == "__main__":
    main()

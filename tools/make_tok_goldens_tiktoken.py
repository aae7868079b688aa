#!/usr/bin/env python3
"""Writes tests/data/tok/tiktoken_goldens.json: the ids the `tiktoken` package gives on the hard set
(encode with allowed_special="all", and encode_ordinary) and on the three shared corpora (one
FNV-1a 64 hash of the ids per non-empty document), for each family ziq knows.

CI has no tiktoken; this runs where it is installed (pip install tiktoken), with no network: the
rank files come from ../shared/data/tokenizers/tiktoken (xz) and the patterns and special tokens
from tiktoken's own tiktoken_ext.openai_public constructors.
    python3 tools/make_tok_goldens_tiktoken.py      # from the repository root
"""
import base64
import lzma
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ZIQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
TESTDATA = os.path.join(ROOT, "tests", "data")
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from spm_tiktoken_reference import corpus_docs, hard_texts, ids_hash, write_goldens  # noqa: E402

# family -> rank file stem
FAMILIES = {"r50k_base": "r50k_base", "p50k_base": "p50k_base", "p50k_edit": "p50k_base",
            "cl100k_base": "cl100k_base", "o200k_base": "o200k_base", "o200k_harmony": "o200k_base"}
CORPORA = ["cc", "python", "arxiv_math"]


def local_ranks(url, expected_hash=None):
    stem = url.rsplit("/", 1)[-1].split(".")[0]
    with lzma.open(os.path.join(SHARED, "tokenizers", "tiktoken", f"{stem}.tiktoken.xz")) as f:
        return {base64.b64decode(tok): int(rank) for tok, rank in (line.split() for line in f.read().splitlines() if line)}


def encodings():
    import tiktoken
    import tiktoken_ext.openai_public as pub
    pub.load_tiktoken_bpe = local_ranks  # no network: the shared copies (same sha256 as tiktoken pins)
    return {name: tiktoken.Encoding(**pub.ENCODING_CONSTRUCTORS[name]()) for name in FAMILIES}


def main():
    import tiktoken
    hard = hard_texts(TESTDATA)
    docs = {c: corpus_docs(SHARED, c) for c in CORPORA}
    out = {"generator": "tools/make_tok_goldens_tiktoken.py", "tiktoken": tiktoken.__version__,
           "hash": "FNV-1a 64 over the ids", "families": []}
    for name, enc in encodings().items():
        entry = {"family": name, "file": f"shared:tokenizers/tiktoken/{FAMILIES[name]}.tiktoken.xz",
                 "hard": [enc.encode(t, allowed_special="all") for t in hard],
                 "hard_ordinary": [enc.encode_ordinary(t) for t in hard], "corpora": {}}
        if name != "o200k_harmony":  # same ranks and pattern as o200k_base; its corpora add nothing
            for c in CORPORA:
                ids = [enc.encode(d, allowed_special="all") for d in docs[c]]
                entry["corpora"][c] = {"tokens": sum(map(len, ids)), "hashes": [ids_hash(i) for i in ids]}
                print(f"{name} {c}: {len(ids)} documents, {entry['corpora'][c]['tokens']} tokens")
        out["families"].append(entry)
    write_goldens(os.path.join(TESTDATA, "tok", "tiktoken_goldens.json"), out)


if __name__ == "__main__":
    main()

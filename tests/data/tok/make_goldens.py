"""Writes goldens.json: ids that Hugging Face `tokenizers` gives for short texts, for the C++ unit
tests (tests/tok/test_tokjson_goldens.cpp), so they check ziq against the peer without Python.
Rerun from the repository root (needs `pip install tokenizers` and ../shared/data):
    python3 tests/data/tok/make_goldens.py
Texts: every case of hard.jsonl shorter than 300 characters, plus a few more. For each tokenizer:
encode(text).ids, encode(text, add_special_tokens=False).ids and decode(ids)."""
import json
import lzma
import os
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

here = Path(__file__).resolve().parent
shared = Path(os.environ.get("ZIQ_SHARED_DATA", here.parents[2] / "../shared/data")).resolve()

texts = [json.loads(l)["content"] for l in (here / "hard.jsonl").read_text(encoding="utf-8").split("\n") if l.strip()]
texts = [t for t in texts if len(t) < 300]
texts += ["Hello world", " Hello world", "Hello  world", "a\n\nb", "<s>", "</s>", "<s> ", " <s>", "x<s>"]

out = {"tokenizers_version": tokenizers.__version__, "texts": texts, "tokenizers": {}}
for d in sorted((shared / "tokenizers").iterdir()):
    f = d / "tokenizer.json.xz"
    if not f.exists():
        continue
    tok = Tokenizer.from_str(lzma.decompress(f.read_bytes()).decode("utf-8"))
    entry = {"with_special": [], "without_special": [], "decoded": []}
    for t in texts:
        ids = tok.encode(t).ids
        entry["with_special"].append(ids)
        entry["without_special"].append(tok.encode(t, add_special_tokens=False).ids)
        entry["decoded"].append(tok.decode(ids))
    out["tokenizers"][d.name] = entry
(here / "goldens.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
print(f"{len(texts)} texts x {len(out['tokenizers'])} tokenizers -> {here / 'goldens.json'}")

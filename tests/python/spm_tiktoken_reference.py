"""Python references for ziq's SentencePiece and tiktoken tokenizers, shared by
test_spm_tiktoken_parity.py and the tools/make_tok_goldens_*.py scripts.

SlowLlamaReference re-states, on the `sentencepiece` package alone, what transformers 4.x's slow
LlamaTokenizer (use_fast=False) does: split at added-token text (longest first), apply the added
tokens' lstrip/rstrip/single_word flags, encode the rest with sentencepiece (legacy: as is;
non-legacy: add_dummy_prefix off, "▁" -> " ", one "▁" in front, pieces starting with a space
encoded after "<unk>"), then BOS/EOS. tools/make_tok_goldens_spm.py checks it against
transformers 4.x itself; CI, which has no transformers, uses it with the sentencepiece package.

The document hash used by the golden files is FNV-1a 64 over the token ids.
"""
import json
import lzma
import os
import re

import sentencepiece as spm

SPACE = "\u2581"
PLAIN_CLASSES = {"GemmaTokenizer", "BaichuanTokenizer", "InternLM2Tokenizer"}
# protobuf: ModelProto.normalizer_spec (field 3) { add_dummy_prefix (field 3) = false }, merged.
NO_DUMMY_PREFIX = b"\x1a\x02\x18\x00"


def ids_hash(ids):
    h = 14695981039346656037
    for i in ids:
        h = ((h ^ (i & 0xFFFFFFFF)) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def hard_texts(test_data):
    """The hand-made hard set, tests/data/tok/spm_hard.jsonl (tools/make_tok_goldens_spm_hard.py)."""
    with open(os.path.join(test_data, "tok", "spm_hard.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f.read().split("\n") if line]


def corpus_docs(shared, name):
    """The non-empty documents of <shared>/corpora/<name>.jsonl.xz, in order."""
    with lzma.open(os.path.join(shared, "corpora", f"{name}.jsonl.xz"), "rt", encoding="utf-8") as f:
        return [d for d in (json.loads(line)["content"] for line in f.read().split("\n") if line.strip()) if d]


def write_goldens(path, goldens):
    """A golden file: one top-level key per line, values compact."""
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in goldens.items()) + "\n}\n")
    print("wrote", path)


def _text(v):
    if v is None or isinstance(v, str):
        return v
    return v["content"]


def _read(path):
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


class SlowLlamaReference:
    def __init__(self, model_file, folder=""):
        cfg = _read(os.path.join(folder, "tokenizer_config.json")) if folder else {}
        smap = _read(os.path.join(folder, "special_tokens_map.json")) if folder else {}
        cls = cfg.get("tokenizer_class") or "LlamaTokenizer"
        cls = cls[:-4] if cls.endswith("Fast") else cls
        legacy = cfg.get("legacy")
        self.legacy = True if legacy is None or cls in PLAIN_CLASSES else legacy
        prefix = cfg.get("add_prefix_space")
        self.add_prefix_space = True if prefix is None else prefix
        bos, eos = cfg.get("add_bos_token"), cfg.get("add_eos_token")
        self.add_bos = True if bos is None else bos
        self.add_eos = False if eos is None else eos
        tokens = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": None}
        for key in tokens:
            if key in cfg:
                tokens[key] = _text(cfg[key])
            if key in smap:
                tokens[key] = _text(smap[key])
        extra = [_text(t) for t in smap.get("additional_special_tokens", cfg.get("additional_special_tokens", []))]

        with open(model_file, "rb") as f:
            proto = f.read()
        self.sp = spm.SentencePieceProcessor(model_proto=proto if self.legacy else proto + NO_DUMMY_PREFIX)
        size = self.sp.get_piece_size()

        self.added = {}  # text -> (id, lstrip, rstrip, single_word)
        for key, v in cfg.get("added_tokens_decoder", {}).items():
            self.added[v["content"]] = (int(key), v.get("lstrip", False), v.get("rstrip", False), v.get("single_word", False))
        next_id = max([size] + [a[0] + 1 for a in self.added.values()])
        for t in [tokens["bos_token"], tokens["eos_token"], tokens["unk_token"], tokens["pad_token"], *extra]:
            if t and t not in self.added:
                pid = self.sp.piece_to_id(t)
                if not (0 <= pid < size and self.sp.id_to_piece(pid) == t):
                    pid, next_id = next_id, next_id + 1
                self.added[t] = (pid, False, False, False)
        self.all_special = {t for t in tokens.values() if t} | set(extra)
        self.split = None
        if self.added and not cfg.get("split_special_tokens", False):
            self.split = re.compile("(" + "|".join(re.escape(t) for t in sorted(self.added, key=len, reverse=True)) + ")")
        self.unk = tokens["unk_token"]
        self.unk_len = len(self.sp.encode(self.unk)) if not self.legacy else 0
        self.bos_id = self.added[tokens["bos_token"]][0] if self.add_bos else None
        self.eos_id = self.added[tokens["eos_token"]][0] if self.add_eos else None

    def _sp(self, text):
        if self.legacy or not text.startswith((SPACE, " ")):
            return self.sp.encode(text)
        ids = self.sp.encode(self.unk + text)
        return ids[self.unk_len:] if len(ids) >= self.unk_len else ids

    def tokenize(self, text):
        """[(id, added-token text or None)], as LlamaTokenizer.tokenize then convert_tokens_to_ids."""
        if not self.legacy and text:
            text = text.replace(SPACE, " ")
            if self.add_prefix_space:
                text = SPACE + text
        parts = [p for p in (self.split.split(text) if self.split else [text]) if p]
        for i, part in enumerate(parts):
            if part not in self.added:
                continue
            _, lstrip, rstrip, single_word = self.added[part]
            left = parts[i - 1] if i > 0 else None
            right = parts[i + 1] if i < len(parts) - 1 else None
            if rstrip and right:
                parts[i + 1] = right.lstrip()
            if lstrip and left:
                parts[i - 1] = left.rstrip()
            if single_word and left and left[-1] != " ":
                parts[i - 1] += part
                parts[i] = ""
            elif single_word and right and right[0] != " ":
                parts[i + 1] = part + parts[i + 1]
                parts[i] = ""
        out = []
        for part in parts:
            if not part:
                continue
            if part in self.added:
                out.append((self.added[part][0], part))
            else:
                out.extend((i, None) for i in self._sp(part))
        if (not self.legacy and len(out) > 1 and out[0][1] is None and self.sp.id_to_piece(out[0][0]) == SPACE
                and out[1][1] in self.all_special):
            out = out[1:]
        return out

    def encode(self, text, add_special=True):
        ids = [i for i, _ in self.tokenize(text)]
        if add_special and self.add_bos:
            ids.insert(0, self.bos_id)
        if add_special and self.add_eos:
            ids.append(self.eos_id)
        return ids

"""Writes components.json: small hand-written tokenizer.json specs, each exercising pipeline
components the shared tokenizers do not use (byte_fallback with unk, fuse_unk, affixes, Metaspace
split, added-token flags, normalizers, Digits / Punctuation / Whitespace pre-tokenizers, Split
behaviours, Roberta / Bert processing, decoders), with the ids and decoded text Hugging Face
`tokenizers` gives for a few texts. Used by tests/tok/test_tokjson_components.cpp. Rerun:
    python3 tests/data/tok/make_components.py"""
import json
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

here = Path(__file__).resolve().parent

chars = list("abcdefghijklmnopqrstuvwxyz") + ["▁", "A", "B", "1", "2", "3", ",", "!", "."]
byte_tokens = [f"<0x{b:02X}>" for b in range(256)]


def vocab_of(tokens):
    return {t: i for i, t in enumerate(tokens)}


def bpe(tokens, merges, **kw):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
         "vocab": vocab_of(tokens), "merges": merges}
    m.update(kw)
    return m


def spec(model, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None, added=()):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": list(added),
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model}


def added(id_, content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


sp_tokens = ["<unk>", "<s>", "</s>"] + byte_tokens + chars + ["▁a", "ab", "▁ab", "▁t", "he", "▁the", "ll", "▁he"]
sp_merges = ["▁ a", "a b", "▁a b", "▁ t", "h e", "▁t he", "l l", "▁ he"]
sp_decoder = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
template = {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
texts = ["", "ab", "the hello", "  the  ab  ", "Héllo wörld ☃", "abc<s>the</s>x", "ab1234,5!!", "ÀB ab", "q\tq\nq"]

cases = {}
cases["sp_bytefallback_prepend_replace"] = spec(
    bpe(sp_tokens, sp_merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
    normalizer={"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    post_processor=template, decoder=sp_decoder, added=[added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")])
cases["sp_unk_fused_no_fallback"] = spec(
    bpe(sp_tokens, sp_merges, unk_token="<unk>", fuse_unk=True),
    pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    post_processor=template, decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    added=[added(1, "<s>"), added(2, "</s>")])
cases["sp_unk_unfused_metaspace_first"] = spec(
    bpe(sp_tokens, sp_merges, unk_token="<unk>", fuse_unk=False),
    pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
    decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
    added=[added(1, "<s>"), added(2, "</s>")])
cases["no_unk_drops_chars"] = spec(bpe(sp_tokens, sp_merges), pre_tokenizer={"type": "WhitespaceSplit"})
wp_tokens = ["[UNK]", "[CLS]", "[SEP]"] + chars + ["##" + c for c in chars] + ["ab", "##ab", "th", "##he", "the", "##ll", "a##b"]
cases["affix_prefix_bert_processing"] = spec(
    bpe(wp_tokens, ["a ##b", "t ##h", "##h ##e", "th ##e", "##l ##l"], unk_token="[UNK]", continuing_subword_prefix="##"),
    normalizer={"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
    pre_tokenizer={"type": "BertPreTokenizer"},
    post_processor={"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    added=[added(0, "[UNK]"), added(1, "[CLS]"), added(2, "[SEP]")])
sfx_tokens = ["<unk>"] + chars + [c + "</w>" for c in chars] + ["ab</w>", "th", "the</w>", "he</w>"]
cases["affix_suffix_whitespace"] = spec(
    bpe(sfx_tokens, ["a b</w>", "t h", "th e</w>", "h e</w>"], unk_token="<unk>", end_of_word_suffix="</w>"),
    normalizer={"type": "Lowercase"}, pre_tokenizer={"type": "Whitespace"},
    post_processor={"type": "RobertaProcessing", "sep": ["</w>", 2], "cls": ["<unk>", 0], "trim_offsets": True, "add_prefix_space": False})
bl = ["Ġ" if False else None]
# Byte-level alphabet, as GPT-2 writes it.
def byte_alphabet():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]
alpha = byte_alphabet()
bl_tokens = alpha + ["Ġt", "he", "Ġthe", "ab", "Ġab", "12", "123"]
bl_merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["a", "b"], ["Ġ", "ab"], ["1", "2"], ["12", "3"]]
cases["bytelevel_prefix_space_digits_punct"] = spec(
    bpe(bl_tokens, bl_merges, ignore_merges=True),
    normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Strip", "strip_left": True, "strip_right": True}]},
    pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False}, {"type": "Punctuation", "behavior": "Isolated"},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]},
    post_processor={"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}, template]},
    decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    added=[added(len(bl_tokens), "<s>"), added(len(bl_tokens) + 1, "</s>", lstrip=True, rstrip=True),
           added(len(bl_tokens) + 2, "the", special=False, normalized=True, single_word=True)])
for b in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]:
    for inv in (False, True):
        cases[f"split_{b}_{'inv' if inv else 'plain'}"] = spec(
            bpe(bl_tokens, bl_merges),
            pre_tokenizer={"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\s+|\\d"}, "behavior": b, "invert": inv},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True})
cases["split_string_merged_next"] = spec(
    bpe(bl_tokens, bl_merges),
    pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "b"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True})

uni_vocab = [["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0]] + [[b, -20.0] for b in byte_tokens[:4]] + \
    [[c, -5.0 - i * 0.1] for i, c in enumerate(chars)] + \
    [["▁the", -2.0], ["▁t", -3.0], ["he", -3.0], ["▁a", -3.5], ["ab", -3.0], ["▁ab", -2.5], ["ll", -4.0],
     ["hel", -4.5], ["lo", -4.5], ["▁he", -4.0], ["llo", -4.2], ["12", -4.0], ["34", -4.0], ["1234", -7.5]]
uni_meta = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
cases["unigram_metaspace_unk"] = spec({"type": "Unigram", "unk_id": 0, "vocab": uni_vocab, "byte_fallback": False},
    pre_tokenizer=uni_meta, post_processor=template,
    decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    added=[added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")])
uni_bf = uni_vocab + [[b, -20.0] for b in byte_tokens[4:]]
cases["unigram_byte_fallback_nfkc"] = spec({"type": "Unigram", "unk_id": 0, "vocab": uni_bf, "byte_fallback": True},
    normalizer={"type": "NFKC"}, pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
    decoder=sp_decoder, added=[added(1, "<s>"), added(2, "</s>")])

out = {"tokenizers_version": tokenizers.__version__, "texts": texts, "cases": {}}
for name, s in cases.items():
    tok = Tokenizer.from_str(json.dumps(s))
    enc = [tok.encode(t).ids for t in texts]
    out["cases"][name] = {"spec": s, "ids": enc, "ids_no_special": [tok.encode(t, add_special_tokens=False).ids for t in texts],
                          "decoded": [tok.decode(e) for e in enc], "decoded_keep_special": [tok.decode(e, skip_special_tokens=False) for e in enc]}
# Normalizers alone, on the hard set's short texts: tokenizers.normalizers.X().normalize_str(text).
from tokenizers import normalizers as N
hard = [json.loads(l)["content"] for l in (here / "hard.jsonl").read_text(encoding="utf-8").split("\n") if l.strip()]
hard = [t for t in hard if len(t) < 300]
norm_specs = {"NFC": N.NFC(), "NFD": N.NFD(), "NFKC": N.NFKC(), "NFKD": N.NFKD(), "Lowercase": N.Lowercase(),
              "StripAccents": N.StripAccents(), "Strip": N.Strip()}
out["normalizer_texts"] = hard
out["normalizers"] = {name: [n.normalize_str(t) for t in hard] for name, n in norm_specs.items()}
# Pre-tokenizers alone: the pieces of pre_tokenize_str (ByteLevel's shown in its alphabet).
from tokenizers import pre_tokenizers as P
pre_specs = {"Whitespace": {"type": "Whitespace"}, "WhitespaceSplit": {"type": "WhitespaceSplit"},
             "Punctuation": {"type": "Punctuation", "behavior": "Isolated"},
             "Digits": {"type": "Digits", "individual_digits": True},
             "BertPreTokenizer": {"type": "BertPreTokenizer"},
             "Metaspace": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
             "ByteLevel": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}}
out["pre_tokenizers"] = {}
for name, js in pre_specs.items():
    pt = Tokenizer.from_str(json.dumps(spec(bpe(["a"], []), pre_tokenizer=js))).pre_tokenizer
    out["pre_tokenizers"][name] = {"spec": js, "pieces": [[p for p, _ in pt.pre_tokenize_str(t)] for t in hard]}
(here / "components.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
print(f"{len(cases)} cases x {len(texts)} texts")

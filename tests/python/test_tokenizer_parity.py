"""Token-for-token parity of ziq's tokenizer.json pipeline with Hugging Face `tokenizers`.

For every tokenizer.json in $ZIQ_SHARED_DATA/tokenizers (decompressed into a temp folder with its
tokenizer_config.json / special_tokens_map.json), `ziq tokenize --format jsonl` must give exactly
`tokenizers.Tokenizer.from_file(...).encode(text).ids` (special tokens added, the default) on the
hand-made hard set (tests/data/tok/hard.jsonl) and on the three shared corpora; with
--no-special, encode(text, add_special_tokens=False). `--format decode` must equal
Tokenizer.decode(ids) (skip_special_tokens=True, the binding's default).

The reference is the tokenizer.json file's own semantics. transformers' AutoTokenizer can differ
from the file. Measured with transformers 5.24 on the 53 hard-set texts (with the same folders):
gemma, gpt2, llama3, mistral_7b_v0_3, mistral_nemo, qwen2_5 and qwen3 agree with
Tokenizer.from_file on every text; mistral_7b_v0_1 (tokenizer_class LlamaTokenizer, legacy: true)
differs on 7 of 53 (single_space, only_spaces, special_lookalikes, metaspace_char,
long_space_run, mixed_everything, leading_ws): transformers 5 rebuilds a LlamaTokenizer's pipeline
from its own template (Metaspace pre-tokenizer instead of the file's Prepend + Replace
normalizers), e.g. " " gives [1, 28705] there and [1, 259] from the file. The BOS policy
(add_bos_token) agrees with the files' post-processors for all folders. tokenizer_config.json's
add_bos_token / add_eos_token: transformers 5.24 does not apply them (mistral_7b_v0_1 with
add_bos_token=false, add_eos_token=true still gives [1, ...] without EOS), while transformers 4.x's
LlamaTokenizerFast, CodeLlamaTokenizerFast and GemmaTokenizerFast rebuild their template from them,
and ziq follows 4.x, what the paper ran (tests/tok/test_tokjson_config_template.cpp, checked against
transformers 4.46.3: the DeepSeek layout, a ByteLevel tokenizer.json without BOS under
LlamaTokenizerFast with add_bos_token true, gets BOS). For every folder here the files'
post-processors and the configs agree, so the ids equal Tokenizer.from_file's.

Corpus size: by default the first documents of each corpus up to ZIQ_TOK_PARITY_MB (default 2) MB
each, i.e. 6 MB per tokenizer, 48 MB over the run; ZIQ_TOK_PARITY_MB=0 takes the corpora whole.
"""
import json
import lzma
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from tokenizers import Tokenizer

ZIQ = os.environ.get("ZIQ_BIN", "ziq")
SHARED = Path(os.environ.get("ZIQ_SHARED_DATA", Path(__file__).resolve().parents[2] / "../shared/data"))
TEST_DATA = Path(os.environ.get("ZIQ_TEST_DATA", Path(__file__).resolve().parents[1] / "data"))
HARD = TEST_DATA / "tok" / "hard.jsonl"
MB_PER_CORPUS = float(os.environ.get("ZIQ_TOK_PARITY_MB", "2"))


def tokenizer_dirs():
    root = SHARED / "tokenizers"
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir() if (d / "tokenizer.json.xz").exists() or (d / "tokenizer.json").exists())


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="ziq_tok_parity_"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def read_maybe_xz(p: Path) -> bytes:
    data = p.read_bytes()
    return lzma.decompress(data) if p.suffix == ".xz" else data


def materialize(name: str, workdir: Path) -> Path:
    """A folder with the decompressed tokenizer.json and the JSON side files."""
    src = SHARED / "tokenizers" / name
    dst = workdir / "tok" / name
    if not (dst / "tokenizer.json").exists():
        dst.mkdir(parents=True, exist_ok=True)
        json_src = src / "tokenizer.json.xz" if (src / "tokenizer.json.xz").exists() else src / "tokenizer.json"
        (dst / "tokenizer.json").write_bytes(read_maybe_xz(json_src))
        for side in ("tokenizer_config.json", "special_tokens_map.json"):
            if (src / side).exists():
                shutil.copy(src / side, dst / side)
    return dst


def corpus_docs(workdir: Path):
    """(name, path of a JSONL file, list of non-empty contents) for the hard set and corpora."""
    hard = [json.loads(l)["content"] for l in HARD.read_text(encoding="utf-8").split("\n") if l.strip()]
    out = [("hard", HARD, [c for c in hard if c])]  # ziq tokenize skips empty documents
    for p in sorted((SHARED / "corpora").glob("*.jsonl*")):
        docs, total = [], 0
        for line in read_maybe_xz(p).decode("utf-8").split("\n"):
            if not line.strip():
                continue
            c = json.loads(line)["content"]
            if not c:
                continue
            docs.append(c)
            total += len(c.encode("utf-8"))
            if MB_PER_CORPUS > 0 and total >= MB_PER_CORPUS * 1e6:
                break
        path = workdir / (p.name.split(".")[0] + ".subset.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for c in docs:
                f.write(json.dumps({"content": c}) + "\n")
        out.append((p.name, path, docs))
    return out


@pytest.fixture(scope="module")
def corpora(workdir):
    return corpus_docs(workdir)


def ziq_lines(args):
    r = subprocess.run([ZIQ, "tokenize", *args], capture_output=True)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    return [json.loads(l) for l in r.stdout.decode("utf-8").split("\n") if l]


def first_difference(a, b):
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return k
    return min(len(a), len(b))


def compare(name, label, docs, got, want):
    assert len(got) == len(docs), f"{name}/{label}: {len(got)} outputs for {len(docs)} documents"
    bad = [k for k in range(len(docs)) if got[k] != want[k]]
    if bad:
        k = bad[0]
        at = first_difference(got[k], want[k])
        pytest.fail(f"{name}/{label}: {len(bad)} of {len(docs)} documents differ; first doc {k} "
                    f"({docs[k][:60]!r}...) at token {at}: ziq {got[k][max(0, at - 3):at + 5]} "
                    f"vs tokenizers {want[k][max(0, at - 3):at + 5]}")


@pytest.mark.parametrize("name", tokenizer_dirs())
def test_encode_parity(name, workdir, corpora):
    folder = materialize(name, workdir)
    ref = Tokenizer.from_file(str(folder / "tokenizer.json"))
    total_bytes = 0
    for label, path, docs in corpora:
        got = ziq_lines(["--tokenizer", str(folder), "--corpus", str(path), "--format", "jsonl"])
        want = [e.ids for e in ref.encode_batch(docs)]
        compare(name, label, docs, got, want)
        total_bytes += sum(len(d.encode("utf-8")) for d in docs)
    # The hard set again without special tokens.
    label, path, docs = corpora[0]
    got = ziq_lines(["--tokenizer", str(folder), "--corpus", str(path), "--no-special"])
    want = [e.ids for e in ref.encode_batch(docs, add_special_tokens=False)]
    compare(name, label + " --no-special", docs, got, want)
    assert total_bytes >= min(5e6, MB_PER_CORPUS * 3e6) or MB_PER_CORPUS == 0


@pytest.mark.parametrize("name", tokenizer_dirs())
def test_decode_parity(name, workdir, corpora):
    folder = materialize(name, workdir)
    ref = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for label, path, docs in corpora[:1]:
        got = ziq_lines(["--tokenizer", str(folder), "--corpus", str(path), "--format", "decode"])
        want = [ref.decode(e.ids) for e in ref.encode_batch(docs)]
        bad = [k for k in range(len(docs)) if got[k] != want[k]]
        assert not bad, f"{name}: decode differs on {len(bad)} docs; first {docs[bad[0]][:60]!r}: {got[bad[0]][:80]!r} vs {want[bad[0]][:80]!r}"
        # Byte-level tokenizers without a normalizer give the text back exactly, unless it holds
        # special-token text (skipped when decoding).
        spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        specials = {t["id"] for t in spec["added_tokens"] if t["special"]}
        if spec.get("normalizer") is None and spec["decoder"] and spec["decoder"]["type"] == "ByteLevel":
            for k, d in enumerate(docs):
                if not specials.intersection(ref.encode(d).ids):
                    assert got[k] == d, f"{name}: round trip changed document {k}"


# ---- malformed files ----

def run_ziq_on(spec_text: str, workdir: Path, tag: str):
    d = workdir / "bad" / tag
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(spec_text, encoding="utf-8")
    return subprocess.run([ZIQ, "tokenize", "--tokenizer", str(d / "tokenizer.json"), "--corpus", str(HARD)],
                          capture_output=True, text=True)


def small_spec():
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 5, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "c": 4}, "merges": ["a b"]},
    }


def test_small_spec_is_accepted_by_both(workdir):
    """The base of the malformed cases is itself valid: ziq and tokenizers agree on it."""
    spec = small_spec()
    d = workdir / "good"
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(json.dumps(spec))
    corpus = d / "c.jsonl"
    texts = ["ab", "abc a b", "<s>ab<s>", "cab ba"]
    corpus.write_text("".join(json.dumps({"content": t}) + "\n" for t in texts))
    got = ziq_lines(["--tokenizer", str(d / "tokenizer.json"), "--corpus", str(corpus)])
    ref = Tokenizer.from_file(str(d / "tokenizer.json"))
    assert got == [ref.encode(t).ids for t in texts]


@pytest.mark.parametrize("tag,mutate,expect", [
    ("bad_json", lambda s: json.dumps(s)[:-20], ["not valid JSON"]),
    ("unknown_merge_token", lambda s: json.dumps({**s, "model": {**s["model"], "merges": ["a b", "a zz"]}}),
     ["model.merges[1]", "zz"]),
    ("merge_result_missing", lambda s: json.dumps({**s, "model": {**s["model"], "merges": ["b a"]}}),
     ["model.merges[0]", "ba"]),
    ("vocab_id_negative", lambda s: json.dumps({**s, "model": {**s["model"], "vocab": {"a": -3, "b": 1, "ab": 2}}}),
     ["model.vocab.a", "out of range"]),
    ("added_id_out_of_range", lambda s: json.dumps({**s, "added_tokens": [{**s["added_tokens"][0], "id": 10**9}]}),
     ["added_tokens[0].id", "out of range"]),
    ("unknown_normalizer", lambda s: json.dumps({**s, "normalizer": {"type": "Klingon"}}), ["normalizer", "Klingon"]),
    ("unknown_pre_tokenizer", lambda s: json.dumps({**s, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Mystery"}]}}),
     ["pre_tokenizer.pretokenizers[0]", "Mystery"]),
    ("unknown_decoder", lambda s: json.dumps({**s, "decoder": {"type": "Zigzag"}}), ["decoder", "Zigzag"]),
    ("unknown_model", lambda s: json.dumps({**s, "model": {**s["model"], "type": "Quantum"}}), ["model", "Quantum"]),
    ("dropout", lambda s: json.dumps({**s, "model": {**s["model"], "dropout": 0.1}}), ["model.dropout"]),
    ("bad_regex", lambda s: json.dumps({**s, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": False}}),
     ["pre_tokenizer.pattern", "(unclosed"]),
    ("bad_behavior", lambda s: json.dumps({**s, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways", "invert": False}}),
     ["pre_tokenizer.behavior", "Sideways"]),
    ("template_unknown_special", lambda s: json.dumps({**s, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {}}}),
     ["post_processor.single[0]", "<x>"]),
    ("template_id_out_of_range", lambda s: json.dumps({**s, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [99999], "tokens": ["<s>"]}}}}),
     ["post_processor.special_tokens.<s>.ids[0]", "out of range"]),
])
def test_malformed_file_is_refused(tag, mutate, expect, workdir):
    r = run_ziq_on(mutate(small_spec()), workdir, tag)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "tokenizer.json" in r.stderr, r.stderr
    for e in expect:
        assert e in r.stderr, (e, r.stderr)
    # The peer refuses these too (bad JSON, unknown tokens / types), except where it is more lenient.
    if tag in ("bad_json", "unknown_merge_token", "unknown_normalizer", "unknown_decoder", "unknown_model"):
        with pytest.raises(Exception):
            Tokenizer.from_str(mutate(small_spec()))

"""`ziq tokenize` on SentencePiece .model files and tiktoken rank files against their peers.

SentencePiece: the reference is transformers 4.x's slow LlamaTokenizer (use_fast=False, what the
paper ran), re-stated on the `sentencepiece` package in spm_tiktoken_reference.SlowLlamaReference
(tools/make_tok_goldens_spm.py checks that re-statement against transformers 4.46 itself, on the
hard set and all three corpora, and commits transformers' ids as goldens, which the C++ tests
compare with). Here ziq's CLI is compared with the live sentencepiece package through that
reference, with and without --no-special, on the hard set and on the corpora (the Llama-2 model
on all three, 16 MB; the others on cc, 4 MB).

tiktoken: every record of gpt-tokenizer's TestPlans.txt (vectors checked against Python tiktoken);
when the `tiktoken` package is importable (not in CI), also the hard set and corpora against it.
"""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import spm_tiktoken_reference as ref_mod
from spm_tiktoken_reference import SlowLlamaReference

ZIQ = os.environ.get("ZIQ_BIN", "ziq")
SHARED = Path(os.environ.get("ZIQ_SHARED_DATA", Path(__file__).resolve().parents[2] / "../shared/data"))
TEST_DATA = Path(os.environ.get("ZIQ_TEST_DATA", Path(__file__).resolve().parents[1] / "data"))
TOK = SHARED / "tokenizers"

# name -> (model file, folder with tokenizer_config.json or None, corpora to run)
SPM = {
    "llama2": (TOK / "llama2" / "tokenizer.model", None, ["cc", "python", "arxiv_math"]),
    "llama2_nonlegacy": (TOK / "llama2" / "tokenizer.model", TEST_DATA / "tok" / "spm_llama2_nonlegacy", ["cc"]),
    "mistral_7b_v0_3": (TOK / "mistral_7b_v0_3" / "tokenizer.model.v3", TOK / "mistral_7b_v0_3", ["cc"]),
}


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="ziq_spm_tiktoken_"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def hard_texts():
    return ref_mod.hard_texts(TEST_DATA)


def corpus_docs(name):
    return ref_mod.corpus_docs(SHARED, name)


def write_corpus(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"content": t}) + "\n")
    return path


def ziq_ids(tokenizer, corpus, *flags):
    r = subprocess.run([ZIQ, "tokenize", "--tokenizer", str(tokenizer), "--corpus", str(corpus), "--format", "jsonl",
                        "--quiet", *flags], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return [json.loads(line) for line in r.stdout.decode().split("\n") if line]


def spm_folder(name, workdir):
    """What `ziq tokenize --tokenizer` is given: a bare .model, or a model folder with it."""
    model, folder, _ = SPM[name]
    if folder is None:
        return model
    d = workdir / name
    d.mkdir(exist_ok=True)
    shutil.copy(model, d / "tokenizer.model")
    for side in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / side).exists():
            shutil.copy(folder / side, d)
    return d


def assert_same(ours, theirs, texts, what):
    assert len(ours) == len(theirs), what
    bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert not bad, f"{what}: {len(bad)} of {len(texts)} differ, first {texts[bad[0]][:80]!r}: {ours[bad[0]][:20]} vs {theirs[bad[0]][:20]}"


@pytest.mark.parametrize("name", list(SPM))
def test_sentencepiece_hard_set(name, workdir):
    ref = SlowLlamaReference(str(SPM[name][0]), str(SPM[name][1] or ""))
    texts = [t for t in hard_texts() if t]  # ziq tokenize skips empty documents, as the paper does
    corpus = write_corpus(workdir / f"hard_{name}.jsonl", texts)
    tok = spm_folder(name, workdir)
    assert_same(ziq_ids(tok, corpus), [ref.encode(t) for t in texts], texts, name)
    assert_same(ziq_ids(tok, corpus, "--no-special"), [ref.encode(t, add_special=False) for t in texts], texts,
                name + " --no-special")


@pytest.mark.parametrize("name", list(SPM))
def test_sentencepiece_corpora(name, workdir):
    model, folder, corpora = SPM[name]
    ref = SlowLlamaReference(str(model), str(folder or ""))
    tok = spm_folder(name, workdir)
    for c in corpora:
        docs = corpus_docs(c)
        ours = ziq_ids(tok, SHARED / "corpora" / f"{c}.jsonl.xz")
        assert_same(ours, [ref.encode(d) for d in docs], docs, f"{name} {c}")


def test_sentencepiece_bos_policy(workdir):
    # The bare Llama-2 file: transformers' LlamaTokenizer defaults (add_bos_token, legacy) apply.
    ours = ziq_ids(TOK / "llama2" / "tokenizer.model", write_corpus(workdir / "hi.jsonl", ["Hello world", "a <s> b"]))
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(TOK / "llama2" / "tokenizer.model"))
    assert ours[0] == [sp.bos_id()] + sp.encode("Hello world")
    assert ours[1] == [1, *sp.encode("a "), 1, *sp.encode(" b")]


def test_truncated_model_is_refused(workdir):
    data = (TOK / "llama2" / "tokenizer.model").read_bytes()
    cut = workdir / "cut.model"
    cut.write_bytes(data[: len(data) // 3])
    r = subprocess.run([ZIQ, "tokenize", "--tokenizer", str(cut), "--corpus", str(write_corpus(workdir / "x.jsonl", ["x"]))],
                       capture_output=True)
    assert r.returncode == 3, r.stderr.decode()
    assert str(cut) in r.stderr.decode()


def read_plans():
    lines = (TOK / "tiktoken" / "gpt-tokenizer-TestPlans.txt").read_text("utf-8").split("\n")
    plans, i = [], 0
    while i < len(lines):
        if lines[i].startswith("EncodingName: "):
            family, sample, j = lines[i][14:], lines[i + 1][8:], i + 2
            while not lines[j].startswith("Encoded: "):
                sample += "\n" + lines[j]
                j += 1
            plans.append((family, sample, json.loads(lines[j][9:])))
            i = j
        i += 1
    return plans


def test_tiktoken_test_plans(workdir):
    plans = read_plans()
    assert len(plans) == 313
    checked = 0
    for family in sorted({p[0] for p in plans}):
        # p50k_edit differs from p50k_base only in special tokens, which no sample holds.
        rank_file = TOK / "tiktoken" / f"{'p50k_base' if family == 'p50k_edit' else family}.tiktoken.xz"
        mine = [p for p in plans if p[0] == family and p[1]]
        corpus = write_corpus(workdir / f"plans_{family}.jsonl", [p[1] for p in mine])
        for flags in ([], ["--no-special"]):
            assert_same(ziq_ids(rank_file, corpus, *flags), [p[2] for p in mine], [p[1] for p in mine], family)
        checked += len(mine)
    assert checked == len([p for p in plans if p[1]])


@pytest.mark.parametrize("family", ["r50k_base", "p50k_base", "cl100k_base", "o200k_base"])
def test_tiktoken_package(family, workdir):
    pytest.importorskip("tiktoken")
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from make_tok_goldens_tiktoken import encodings
    enc = encodings()[family]
    rank_file = TOK / "tiktoken" / f"{family}.tiktoken.xz"
    texts = [t for t in hard_texts() if t] + corpus_docs("cc")
    corpus = write_corpus(workdir / f"tt_{family}.jsonl", texts)
    assert_same(ziq_ids(rank_file, corpus), [enc.encode(t, allowed_special="all") for t in texts], texts, family)
    assert_same(ziq_ids(rank_file, corpus, "--no-special"), [enc.encode_ordinary(t) for t in texts], texts, family)

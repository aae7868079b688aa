"""Helpers for the Python tests that run the `ziq` command on the built-in model: where things are,
running a command, copies of the built-in model with edited files, small corpora."""
import json
import os
import shutil
import struct
import subprocess

ZIQ = os.environ["ZIQ_BIN"]
SOURCE = os.environ["ZIQ_SOURCE_DIR"]
MODEL = os.path.join(SOURCE, "data", "default-model")  # the built-in model, by path
SAMPLE = os.path.join(SOURCE, "data", "sample", "sample.jsonl")


def ziq(*args, timeout=600, **kw):
    return subprocess.run([ZIQ, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)


def ziq_json(*args):
    out = ziq(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def small_corpus(path, documents=6):
    """The first `documents` lines of the sample corpus, as a JSONL file at `path`."""
    with open(SAMPLE, encoding="utf-8") as f:
        lines = [next(f) for _ in range(documents)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def copy_model(dest):
    shutil.copytree(MODEL, dest)
    return dest


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), bytearray(raw), 8 + n


def write_tensor_bytes(path, tensor, fill):
    """Overwrites the data of `tensor` in the safetensors file at `path` with `fill` (bytes, repeated),
    keeping the header and the file's size."""
    header, raw, base = read_safetensors(path)
    begin, end = header[tensor]["data_offsets"]
    data = (fill * ((end - begin) // len(fill) + 1))[:end - begin]
    raw[base + begin:base + end] = data
    with open(path, "r+b") as f:
        f.write(raw)

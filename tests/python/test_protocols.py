"""`ziq windows` against an independent Python transcription of the scoring protocols.

The rules below are transcribed from DESIGN.md ("The paper's protocol, exactly") and from the
definitions of "full" and "doc" in issue 2, not from ziq's C++. They are written per target token:
for every token of a stream, which window start (context start) scores it, if any. ziq's plan is
turned into the same per-target map and the two must be equal, on many seeded random document-length
sets and on the edge cases (N < B, N == B, N == B + k*s, no documents, a single token).
"""
import json
import os
import random
import subprocess

import pytest

ZIQ = os.environ.get("ZIQ_BIN", "ziq")


def ziq_windows(protocol, context, stride, lengths):
    args = [ZIQ, "windows", "--json", "--protocol", protocol, "--context", str(context),
            "--stride", str(stride), "--lengths", ",".join(str(n) for n in lengths)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


# ---- the rules, transcribed -------------------------------------------------------------------

def paper_targets(lengths, C, s):
    """DESIGN.md steps 2-4: one stream of N tokens; W = floor((N - B) / s) + 1 windows of B = C + 1
    tokens, window w covering S[w*s, w*s + B); window 0 scores targets 1..B-1, window w >= 1 its
    last s targets. Tokens after the last window are never scored. A stream shorter than one
    window: one shorter window over all of it, scoring 1..N-1 (ziq's documented extension).
    Returns ({(stream, target): context_start}, windows [(start, length)], short)."""
    N = sum(lengths)
    B = C + 1
    targets, windows = {}, []
    if N < B:
        if N >= 2:
            windows.append((0, N))
            for t in range(1, N):
                targets[(0, t)] = 0
        return targets, windows, True
    W = (N - B) // s + 1
    for w in range(W):
        start = w * s
        windows.append((start, B))
        first = start + 1 if w == 0 else start + B - s
        for t in range(first, start + B):
            targets[(0, t)] = start
    return targets, windows, False


def full_context_start(t, n, C, s):
    """'full' for target t of a stream of n tokens: scored by the paper's window if one covers it;
    otherwise (the tail after the last paper window) by the window of C + 1 tokens that ends at the
    end of the stream. A stream shorter than one window is one window from 0."""
    B = C + 1
    if n <= B:
        return 0
    W = (n - B) // s + 1
    paper_end = (W - 1) * s + B
    if t >= paper_end:
        return n - B
    if t < B:
        return 0
    return ((t - B) // s + 1) * s


def full_targets(lengths, C, s, per_document):
    streams = lengths if per_document else [sum(lengths)]
    targets = {}
    for k, n in enumerate(streams):
        for t in range(1, n):  # every token after the stream's first
            targets[(k, t)] = full_context_start(t, n, C, s)
    return targets


# ---- ziq's plan, read the same way ------------------------------------------------------------

def plan_targets(plan):
    targets = {}
    for w in plan["windows"]:
        for j in range(w["score_begin"], w["length"]):
            key = (w["stream"], w["start"] + j)
            assert key not in targets, f"target {key} scored twice"
            targets[key] = w["start"]
    return targets


def check(protocol, C, s, lengths):
    plan = ziq_windows(protocol, C, s, lengths)
    got = plan_targets(plan)
    assert plan["scored_tokens"] == len(got)
    for w in plan["windows"]:
        assert 1 <= w["score_begin"] < w["length"] <= C + 1
        assert w["start"] + w["length"] <= plan["stream_lengths"][w["stream"]]
    if protocol == "paper":
        want, windows, short = paper_targets(lengths, C, s)
        assert plan["stream_lengths"] == [sum(lengths)]
        assert [(w["start"], w["length"]) for w in plan["windows"]] == windows
        assert plan["short_corpus"] == short
        if short:
            assert plan["notes"], "the short-corpus case must be reported"
    else:
        want = full_targets(lengths, C, s, per_document=(protocol == "doc"))
        expected_streams = list(lengths) if protocol == "doc" else [sum(lengths)]
        assert plan["stream_lengths"] == expected_streams
        assert not plan["short_corpus"]
    assert got == want


PROTOCOLS = ["paper", "full", "doc"]


def edge_cases():
    C, s = 1900, 512
    B = C + 1
    cases = [[], [1], [0], [0, 0], [1, 1], [2], [B - 1], [B], [B + 1], [B - 5, 5],
             [B + s], [B + s - 1], [B + s + 1], [B + 3 * s], [1000, B + 3 * s - 1000],
             [B + 3 * s + 1], [B + 3 * s - 1], [5, 100, 0, 2500, 1, 7000]]
    return [(C, s, lengths) for lengths in cases] + [
        (4, 4, [5]), (4, 4, [9]), (4, 4, [10]), (1, 1, [3, 0, 2]), (4, 2, [3, 7]), (4, 1, [12])]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_edge_cases(protocol):
    for C, s, lengths in edge_cases():
        check(protocol, C, s, lengths)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_random_small_windows(protocol):
    rng = random.Random(1234 + PROTOCOLS.index(protocol))
    for _ in range(250):
        C = rng.randint(1, 40)
        s = rng.randint(1, C)
        lengths = [rng.choice([0, 1, rng.randint(0, 4 * C)]) for _ in range(rng.randint(0, 7))]
        check(protocol, C, s, lengths)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_random_default_windows(protocol):
    rng = random.Random(99 + PROTOCOLS.index(protocol))
    for _ in range(40):
        lengths = [rng.randint(0, 3000) for _ in range(rng.randint(0, 12))]
        check(protocol, 1900, 512, lengths)


def test_defaults_are_the_papers():
    plan = json.loads(subprocess.run([ZIQ, "windows", "--json", "--lengths", "5000"],
                                     capture_output=True, text=True, check=True).stdout)
    assert (plan["protocol"], plan["context"], plan["stride"]) == ("paper", 1900, 512)


@pytest.mark.parametrize("args", [
    ["--stride", "1901"], ["--stride", "0"], ["--context", "0", "--stride", "1"],
    ["--protocol", "rolling"], ["--lengths", "3,-1"], ["--lengths", "3,,4"], ["--lengths", "3,"]])
def test_usage_errors(args):
    base = {"--lengths": "10"}
    cmd = [ZIQ, "windows"]
    if "--lengths" not in args:
        cmd += ["--lengths", base["--lengths"]]
    r = subprocess.run(cmd + args, capture_output=True, text=True)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr.strip()

"""Bad input to `ziq correlate`, end to end: each problem is reported per row (file:line, and the
column where it applies), with exit code 3 for bad files and 2 for bad usage; nothing is dropped
silently (rows left out of a fit are listed in --json with the reason). Expected lines are counted
here by hand from the small files the tests write."""
import json
import os
import subprocess

ZIQ = os.environ.get("ZIQ_BIN", "ziq")

BPC = "model,bpc_cc\na,0.70\nb,0.66\nc,0.61\nd,0.58\ne,0.55\n"


def run(tmp_path, scores, *args, bpc=BPC):
    s, b = tmp_path / "scores.csv", tmp_path / "bpc.csv"
    s.write_bytes(scores.encode())
    b.write_bytes(bpc.encode())
    p = subprocess.run([ZIQ, "correlate", "--scores", str(s), "--bpc", str(b), "--percent",
                        "--pair", "knowledge_avg=bpc_cc"] + list(args), capture_output=True, text=True)
    return p, str(s), str(b)


def test_non_numeric_cells_are_all_listed(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg\na,50\nb,n/a\nc,60\nd,6O\ne,70\n")
    assert p.returncode == 3
    assert "%s:3: column 'knowledge_avg' (field 2): 'n/a' is not a number" % s in p.stderr
    assert "%s:5: column 'knowledge_avg' (field 2): '6O' is not a number" % s in p.stderr


def test_missing_cells_leave_the_fit_and_are_listed(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg\na,50\nb,\nc,60\nd,65\ne,70\n", "--json")
    assert p.returncode == 0, p.stderr
    pair = json.loads(p.stdout)["pairs"][0]
    assert pair["n"] == 4
    assert pair["excluded"] == [{"model": "b", "origin": s + ":3", "reason": "knowledge_avg is empty",
                                 "by_where_filter": False}]


def test_unmatched_names_are_listed_on_both_sides(tmp_path):
    p, s, b = run(tmp_path, "model,knowledge_avg\na,50\nB,55\nc,60\nd,65\ne,70\nz,1\n", "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert [(u["model"], u["origin"]) for u in j["unmatched_scores"]] == [("B", s + ":3"), ("z", s + ":7")]
    assert [(u["model"], u["origin"]) for u in j["unmatched_bpc"]] == [("b", b + ":3")]
    p, _, _ = run(tmp_path, "model,knowledge_avg\na,50\nB,55\nc,60\nd,65\ne,70\n")
    assert "in the scores but not in the BPC (1):" in p.stdout and "in the BPC but not in the scores (1):" in p.stdout


def test_duplicated_names_name_every_line(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg\na,50\nb,55\na,60\n")
    assert p.returncode == 3
    assert "'a' on %s:2 %s:4" % (s, s) in p.stderr


def test_column_named_twice(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg,knowledge_avg\na,50,51\n")
    assert p.returncode == 3
    assert "%s:1: column 'knowledge_avg' named twice (columns 2 and 3)" % s in p.stderr


def test_malformed_quoting_names_line_and_column(tmp_path):
    p, s, _ = run(tmp_path, 'model,knowledge_avg\na,50\n"b"x,55\n')
    assert p.returncode == 3
    assert "%s:3:4: unexpected character after the closing quote of a field" % s in p.stderr


def test_wrong_field_counts_are_all_listed(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg\na,50\nb\nc,60,1\n")
    assert p.returncode == 3
    assert "%s:3: 1 fields, the header has 2" % s in p.stderr and "%s:4: 3 fields, the header has 2" % s in p.stderr


def test_comment_line_first_and_quoted_names(tmp_path):
    scores = '# Columns: model = name, knowledge_avg = percent\nmodel,knowledge_avg\n"a",50\n"b",55\nc,60\nd,65\ne,70\n'
    p, _, _ = run(tmp_path, scores, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["pairs"][0]["n"] == 5


def test_unknown_pair_column_and_bad_usage(tmp_path):
    p, s, _ = run(tmp_path, "model,knowledge_avg\na,50\n", "--pair", "nope=bpc_cc")
    assert p.returncode == 3 and "no column 'nope'" in p.stderr
    p, _, _ = run(tmp_path, "model,knowledge_avg\na,50\n", "--fraction")
    assert p.returncode == 2 and "exclude each other" in p.stderr

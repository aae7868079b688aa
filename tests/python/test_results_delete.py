"""`ziq eval --name` names the model in the results (what score CSVs join on), and `ziq results
delete` removes runs by id or identical reruns (--superseded), saying which, and refuses ids that
are not there without deleting anything."""
from ziq_run import small_corpus, ziq, ziq_json

ARGS = ["--context", "64", "--stride", "32", "--threads", "1"]


def test_name_then_delete(tmp_path):
    corpus = small_corpus(tmp_path / "c.jsonl", documents=3)
    db = tmp_path / "r.sqlite"
    first = ziq_json("eval", "--corpus", corpus, "--db", db, "--name", "tiny-llama", *ARGS)
    second = ziq_json("eval", "--corpus", corpus, "--db", db, "--name", "tiny-llama", *ARGS)
    assert first["model"]["name"] == second["model"]["name"] == "tiny-llama"
    runs = ziq_json("results", "--db", db)["runs"]
    assert [r["model_name"] for r in runs] == ["tiny-llama", "tiny-llama"]
    assert runs[0]["model_path"].endswith("default-model")

    out = ziq("results", "delete", "99", "--db", db)
    assert out.returncode == 3 and "no run with id 99" in out.stderr and "nothing deleted" in out.stderr

    out = ziq("results", "delete", "--superseded", "--db", db)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"deleted run {first['run_id']}: tiny-llama on c.jsonl (paper C=64 s=32, finished")
    assert [r["id"] for r in ziq_json("results", "--db", db)["runs"]] == [second["run_id"]]

    assert ziq_json("results", "delete", second["run_id"], "--db", db)["deleted"] == [second["run_id"]]
    assert ziq_json("results", "--db", db)["runs"] == []
    out = ziq("results", "delete", "--db", db)
    assert out.returncode == 2

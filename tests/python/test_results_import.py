"""`ziq results import FILE --where A` then `--where B` of the same file keeps A's rows (before, the
second import deleted them): an import replaces only what the same file and selection imported
earlier, and says what it replaced and what it kept."""
from ziq_run import ziq, ziq_json

CSV = "model,family,bpc_cc\na,X,1.0\nb,Y,2.0\nc,X,1.5\n"


def runs(db):
    return sorted((r["model_name"], r["source"].split(" where ")[-1] if " where " in r["source"] else "")
                  for r in ziq_json("results", "--db", db)["runs"])


def test_selections_of_one_file_add_up(tmp_path):
    csv = tmp_path / "scores.csv"
    csv.write_text(CSV)
    db = tmp_path / "r.sqlite"
    a = ziq_json("results", "import", csv, "--db", db, "--where", "family=X")
    assert a["imported"] == 2 and a["replaced"] == 0
    b = ziq_json("results", "import", csv, "--db", db, "--where", "family=Y")
    assert b["imported"] == 1 and b["replaced"] == 0
    assert b["kept_from_other_imports"] == {a["source"]: 2}
    assert runs(db) == [("a", "family=X"), ("b", "family=Y"), ("c", "family=X")]

    # The same selection again replaces only its own rows, and says so.
    out = ziq("results", "import", csv, "--db", db, "--where", "family=X")
    assert out.returncode == 0, out.stderr
    assert "replacing the 2 run(s) an earlier import of the same file and selection made" in out.stdout
    assert "note: kept 1 run(s) imported from the same file as imported:scores.csv where family=Y" in out.stderr
    assert runs(db) == [("a", "family=X"), ("b", "family=Y"), ("c", "family=X")]

    # The whole file is a selection of its own: it adds, and replaces itself on a second import.
    whole = ziq_json("results", "import", csv, "--db", db)
    assert whole["imported"] == 3 and whole["replaced"] == 0
    again = ziq_json("results", "import", csv, "--db", db)
    assert again["replaced"] == 3 and len(runs(db)) == 6

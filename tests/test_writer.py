"""Output files as the last build left them, or not; and files no build wrote."""

from __future__ import annotations

from sitegen.writer import content_hash, survey_output


def test_pages_not_as_left_are_the_missing_resized_and_replaced_ones(tmp_path):
    states = {}
    for rel in ("a/index.html", "b/index.html", "c.xml", "d/index.html", "e.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"<p>" + rel.encode() + b"</p>")
        states[rel] = ("fingerprint", content_hash(path.read_bytes()))
    (tmp_path / "b/index.html").unlink()
    (tmp_path / "c.xml").write_bytes(b"longer than it was when written")
    (tmp_path / "d/index.html").unlink()
    (tmp_path / "d/index.html").mkdir()
    (tmp_path / "e.txt").write_bytes(b"<p>E.TXT</p>")  # same size: taken as it was left
    survey = survey_output(tmp_path, states, frozenset())
    assert survey.not_as_left == {"b/index.html", "c.xml", "d/index.html"}
    assert survey_output(tmp_path, {}, frozenset()).not_as_left == frozenset()


def test_strays_are_the_files_neither_pages_nor_copies_nor_sitegens_own(tmp_path):
    for rel in ("index.html", "img/logo.png", "notes/todo.txt", "verify.html",
                "pagefind/x.pf_meta", ".sitegen-output"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    states = {"index.html": ("fp", content_hash(b"index.html"))}
    survey = survey_output(tmp_path, states, frozenset({"img/logo.png"}))
    assert survey.strays == ("notes/todo.txt", "verify.html")
    assert survey.not_as_left == frozenset()

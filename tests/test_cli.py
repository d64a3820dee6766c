"""The ``dedup`` command: help, ``find`` (outputs, options, inputs, errors) and ``explain``.

Most runs are in-process (CliRunner); the few that need a real process (stdin,
exit codes, no traceback) run ``dedup`` in a subprocess.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from conftest import CORPUS, Corpus, read_jsonl, write_jsonl
from dedup.cli import app

PAIR_FIELDS = {"a", "b", "jaccard", "estimated_jaccard", "containment_a_in_b", "containment_b_in_a"}
CLUSTER_FIELDS = {"cluster", "representative", "members", "min_similarity"}


def ok(result):
    """The result of a run that must succeed, with its stderr shown when it did not."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstderr: {result.stderr}\nexception: {result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def stdout_records(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def groups(clusters: list[dict]) -> set[tuple]:
    return {(tuple(c["members"]), c["representative"]) for c in clusters}


def expected_groups(corpus: Corpus) -> set[tuple]:
    return set(corpus.clusters)


# -- help for every command ----------------------------------------------------------------------------------


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command path of the app, found by walking the click tree."""
    paths: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            walk(sub, path + (name,))

    walk(typer.main.get_command(app), ())
    return paths


def _command_at(path: tuple[str, ...]):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def _flat(text: str) -> str:
    """Help text without rich's box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─┃━]", " ", text).split())


COMMAND_PATHS = _command_paths()


def test_the_app_has_the_known_commands():
    # A guard for the walk below: if it finds nothing, the help test would pass vacuously.
    assert {("find",), ("explain",)} <= set(COMMAND_PATHS)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(("dedup",) + p))
def test_every_command_has_help_with_a_description(cli, path):
    r = ok(cli(*path, "--help"))
    command = _command_at(path)
    help_text = command.help or ""
    assert help_text.strip(), f"{' '.join(path) or 'dedup'} has no description"
    first_line = help_text.strip().splitlines()[0]
    out = _flat(r.stdout)
    assert "Usage:" in out
    assert _flat(first_line) in out
    for name, sub in (getattr(command, "commands", None) or {}).items():
        assert name in out  # a group lists its sub-commands


def test_python_dash_m_dedup_shows_help():
    r = subprocess.run([sys.executable, "-m", "dedup", "--help"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert b"find" in r.stdout and b"explain" in r.stdout


# -- find: outputs -------------------------------------------------------------------------------------------


def test_find_writes_pairs_and_clusters(cli, corpus, tmp_path):
    out = tmp_path / "out"
    r = ok(cli("find", corpus.path, "--out", out))
    assert r.stdout == ""  # with --out, nothing on stdout
    pairs = read_jsonl(out / "pairs.jsonl")
    clusters = read_jsonl(out / "clusters.jsonl")

    assert pairs, "no pairs found"
    for p in pairs:
        assert set(p) == PAIR_FIELDS
        assert p["a"] < p["b"]
        assert 0.5 <= p["jaccard"] <= 1
        for f in ("estimated_jaccard", "containment_a_in_b", "containment_b_in_a"):
            assert 0 <= p[f] <= 1
        assert p["containment_a_in_b"] >= p["jaccard"] and p["containment_b_in_a"] >= p["jaccard"]
    assert [(p["a"], p["b"]) for p in pairs] == sorted((p["a"], p["b"]) for p in pairs)

    for c in clusters:
        assert set(c) == CLUSTER_FIELDS
        assert c["representative"] in c["members"]
        assert c["members"] == sorted(c["members"])
    assert [c["cluster"] for c in clusters] == list(range(1, len(clusters) + 1))
    assert groups(clusters) == expected_groups(corpus)

    clustered = {m for c in clusters for m in c["members"]}
    paired = {p[k] for p in pairs for k in "ab"}
    for rid in corpus.unrelated + corpus.contained + (corpus.empty,):
        assert rid not in clustered and rid not in paired

    # min_similarity is the weakest pair inside each (connected) cluster
    for c in clusters:
        inside = [p["jaccard"] for p in pairs if p["a"] in c["members"] and p["b"] in c["members"]]
        assert c["min_similarity"] == pytest.approx(min(inside))
    # every pair of the syndicated triple matches
    triple = corpus.clusters[0][0]
    assert {(p["a"], p["b"]) for p in pairs} >= {(a, b) for a in triple for b in triple if a < b}


def test_find_without_out_writes_clusters_to_stdout(cli, corpus, tmp_path):
    r = ok(cli("find", corpus.path))
    assert groups(stdout_records(r)) == expected_groups(corpus)
    ok(cli("find", corpus.path, "--out", tmp_path / "out"))
    assert r.stdout == (tmp_path / "out" / "clusters.jsonl").read_text(encoding="utf-8")
    # the empty record is reported, as one line naming file:line
    assert r.stderr.splitlines() == [f"warning: {corpus.path}:{corpus.ids.index(corpus.empty) + 1} "
                                     f"(id {corpus.empty!r}): empty text"]


def test_keep_first_writes_one_record_per_cluster_plus_the_rest(cli, corpus, tmp_path):
    kept = tmp_path / "kept.jsonl"
    ok(cli("find", corpus.path, "--out", tmp_path / "out", "--keep-first", kept))
    records = read_jsonl(kept)
    assert [r["id"] for r in records] == corpus.kept_ids
    # the original records, all their fields, unchanged
    assert records == [corpus.by_id[i] for i in corpus.kept_ids]
    clusters = read_jsonl(tmp_path / "out" / "clusters.jsonl")
    clustered = {m for c in clusters for m in c["members"]}
    assert len(records) == len(clusters) + len(set(corpus.ids) - clustered)


def test_keep_first_without_out_still_prints_clusters(cli, corpus, tmp_path):
    kept = tmp_path / "kept.jsonl"
    r = ok(cli("find", corpus.path, "--keep-first", kept))
    assert groups(stdout_records(r)) == expected_groups(corpus)
    assert [r["id"] for r in read_jsonl(kept)] == corpus.kept_ids


# A story updated twice (a live page): each version shares most paragraphs with the next,
# but the first and the last share too little to match on their own.
_UPDATES = [
    "Heavy rain caused the river Aldor to burst its banks near the town of Wexmoor early on Thursday morning.",
    "Fire crews evacuated around two hundred residents from low lying streets close to the old mill bridge.",
    "The regional road authority closed the main route to the coast after parts of it were flooded overnight.",
    "Forecasters expect further showers during the afternoon and have issued an amber warning for the valley.",
    "By midday the water level at the Wexmoor gauge had risen by almost two metres above its usual height.",
    "Officials said on Thursday evening that the evacuated families could return home once engineers checked the bridge.",
]
CHAIN = [
    {"id": "live-1", "published": "2024-10-03T06:00:00Z", "text": "\n".join(_UPDATES[0:4])},
    {"id": "live-2", "published": "2024-10-03T10:00:00Z", "text": "\n".join(_UPDATES[1:5])},
    {"id": "live-3", "published": "2024-10-03T14:00:00Z", "text": "\n".join(_UPDATES[2:6])},
]


def test_cluster_star_does_not_chain(cli, tmp_path):
    path = write_jsonl(tmp_path / "live.jsonl", CHAIN)
    ok(cli("find", path, "--out", tmp_path / "out"))
    pairs = {(p["a"], p["b"]) for p in read_jsonl(tmp_path / "out" / "pairs.jsonl")}
    assert pairs == {("live-1", "live-2"), ("live-2", "live-3")}  # a chain, 1 and 3 do not match
    connected = read_jsonl(tmp_path / "out" / "clusters.jsonl")
    assert groups(connected) == {(("live-1", "live-2", "live-3"), "live-1")}

    r = ok(cli("find", path, "--cluster", "star"))
    star = stdout_records(r)
    assert groups(star) == {(("live-1", "live-2"), "live-1")}  # live-3 does not match live-1
    r = ok(cli("find", path, "--cluster", "star", "--keep-first", tmp_path / "kept.jsonl", "--out", tmp_path / "s"))
    assert [x["id"] for x in read_jsonl(tmp_path / "kept.jsonl")] == ["live-1", "live-3"]


def test_level_paragraph_ids(cli, corpus, tmp_path):
    out = tmp_path / "out"
    ok(cli("find", corpus.path, "--level", "paragraph", "--out", out))
    pairs = read_jsonl(out / "pairs.jsonl")
    clusters = read_jsonl(out / "clusters.jsonl")
    ids = {p[k] for p in pairs for k in "ab"} | {m for c in clusters for m in c["members"]}
    assert ids
    pattern = re.compile(r"^(?P<doc>.+)#(?P<n>[1-9][0-9]*)$")
    for i in ids:
        m = pattern.match(i)
        assert m, f"{i!r} is not ID#N"
        assert m["doc"] in corpus.by_id
    # the brief is the 3rd paragraph of the long read; the agency text's paragraphs are in the portal's copy
    members = {tuple(c["members"]) for c in clusters}
    assert ("en-brief#1", "en-longread#3") in members
    assert ("de-agentur-7781#1", "de-portal-lindenau#1") in members
    # the wire dateline is a paragraph of its own, so the copies' paragraph 1 is the wire's paragraph 2
    assert ("syn-en-coastal#1", "syn-en-dailypost#1", "wire-en-001#2") in members
    for rid in corpus.unrelated:
        assert not any(i.startswith(rid + "#") for i in ids)


def test_level_paragraph_keep_first_writes_paragraph_records(cli, corpus, tmp_path):
    kept = tmp_path / "kept.jsonl"
    ok(cli("find", corpus.path, "--level", "paragraph", "--keep-first", kept))
    records = read_jsonl(kept)
    ids = [r["id"] for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert "en-longread#3" in ids and "en-brief#1" not in ids  # the earlier-published copy is kept
    longread = corpus.by_id["en-longread"]["text"]
    for r in records:
        if r["id"].startswith("en-longread#"):
            assert longread[r["start"]:r["end"]] == r["text"]


def test_containment_finds_a_short_article_inside_a_long_one(cli, corpus, tmp_path):
    short, long_ = corpus.contained
    ok(cli("find", corpus.path, "--out", tmp_path / "plain"))
    plain = read_jsonl(tmp_path / "plain" / "pairs.jsonl")
    assert not any({p["a"], p["b"]} == {short, long_} for p in plain)

    ok(cli("find", corpus.path, "--containment", "0.8", "--out", tmp_path / "cont"))
    pairs = read_jsonl(tmp_path / "cont" / "pairs.jsonl")
    [p] = [p for p in pairs if {p["a"], p["b"]} == {short, long_}]
    assert p["jaccard"] < 0.5
    contained = p["containment_a_in_b"] if p["a"] == short else p["containment_b_in_a"]
    assert contained == 1.0
    clusters = read_jsonl(tmp_path / "cont" / "clusters.jsonl")
    assert (tuple(sorted(corpus.contained)), long_) in groups(clusters)  # the long read was published first
    # the other clusters are unchanged, the unrelated articles still alone
    assert expected_groups(corpus) <= groups(clusters)
    assert not {m for c in clusters for m in c["members"]} & set(corpus.unrelated)


# -- find: bad parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,name", [
    (["--threshold", "1.5"], "threshold=1.5"),
    (["--threshold", "0"], "threshold=0.0"),
    (["-k", "0"], "k=0"),
    (["-k", "65"], "k=65"),
    (["--num-perm", "0"], "num_perm=0"),
    (["--containment", "2"], "containment=2.0"),
    (["--max-bucket", "1"], "max_bucket=1"),
    (["--max-chars", "0"], "max_chars=0"),
    (["--seed", "-1"], "seed=-1"),
    (["--workers", "0"], "workers=0"),
])
def test_bad_parameter_is_exit_2_and_one_line(cli, corpus, tmp_path, args, name):
    r = cli("find", corpus.path, "--out", tmp_path / "out", *args)
    assert r.exit_code == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {name} is invalid: expected ")
    assert r.stdout == ""
    assert not (tmp_path / "out").exists()  # stopped before writing anything


@pytest.mark.parametrize("args,message", [
    (["--threshold", "1.5"], "error: threshold=1.5 is invalid: expected a number in (0, 1]"),
    (["-k", "0"], "error: k=0 is invalid: expected an integer from 1 to 64"),
])
def test_bad_parameter_in_a_real_process(run_dedup, corpus, args, message):
    r = run_dedup("find", corpus.path, *args)
    assert r.returncode == 2
    assert r.stderr.decode().splitlines() == [message]
    assert b"Traceback" not in r.stderr
    assert r.stdout == b""


def test_out_that_is_a_file_is_an_error_without_traceback(run_dedup, corpus, tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    r = run_dedup("find", corpus.path, "--out", blocker)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert b"Traceback" not in r.stderr
    assert err.splitlines()[-1].startswith("error: ")
    assert blocker.read_text() == "not a folder"


# -- find: inputs --------------------------------------------------------------------------------------------


def test_stdin_in_a_real_process(run_dedup, corpus, cli):
    expected = ok(cli("find", corpus.path)).stdout
    r = run_dedup("find", "-", input=corpus.path.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == expected
    line = corpus.ids.index(corpus.empty) + 1
    assert r.stderr.decode().splitlines() == [f"warning: <stdin>:{line} (id {corpus.empty!r}): empty text"]


def test_stdin_in_process(cli, corpus):
    expected = ok(cli("find", corpus.path)).stdout
    r = ok(cli("find", "-", input=corpus.path.read_bytes()))
    assert r.stdout == expected


def test_stdin_together_with_a_file(cli, corpus, tmp_path):
    first, rest = CORPUS[:7], CORPUS[7:]
    path = write_jsonl(tmp_path / "rest.jsonl", rest)
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in first).encode()
    r = ok(cli("find", "-", path, input=stdin))
    assert groups(stdout_records(r)) == expected_groups(corpus)


def _write_csv(path: Path, records: list[dict]) -> Path:
    fields = ["id", "title", "source", "published", "lang", "text"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow(r)
    return path


def test_csv_input(cli, corpus, tmp_path):
    path = _write_csv(tmp_path / "corpus.csv", CORPUS)  # texts with line breaks are quoted
    kept = tmp_path / "kept.jsonl"
    r = ok(cli("find", path, "--keep-first", kept))
    assert r.stdout == ok(cli("find", corpus.path)).stdout
    records = read_jsonl(kept)
    assert [x["id"] for x in records] == corpus.kept_ids
    assert records[0] == {k: str(corpus.by_id[records[0]["id"]].get(k, ""))
                          for k in ["id", "title", "source", "published", "lang", "text"]}


def test_folder_of_txt_files(cli, corpus, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for rec in CORPUS:
        (folder / f"{rec['id']}.txt").write_text(rec["text"], encoding="utf-8")
    (folder / "notes.md").write_text("not an article")  # ignored
    r = ok(cli("find", folder))
    # no dates in .txt files: the smallest id represents each cluster
    assert groups(stdout_records(r)) == {(members, members[0]) for members, _ in corpus.clusters}
    assert f"{folder / 'empty-001.txt'}" in r.stderr and "empty text" in r.stderr


def test_several_inputs_at_once(cli, corpus, tmp_path):
    # the triple split over a JSONL file, a CSV file and a .txt file
    by_id = corpus.by_id
    a = write_jsonl(tmp_path / "a.jsonl", [r for r in CORPUS if r["id"] not in ("syn-en-coastal", "fr-repost")])
    b = _write_csv(tmp_path / "b.csv", [by_id["fr-repost"]])
    c = tmp_path / "syn-en-coastal.txt"
    c.write_text(by_id["syn-en-coastal"]["text"], encoding="utf-8")
    kept = tmp_path / "kept.jsonl"
    r = ok(cli("find", a, b, c, "--keep-first", kept))
    assert groups(stdout_records(r)) == expected_groups(corpus)
    assert [x["id"] for x in read_jsonl(kept)] == corpus.kept_ids


def test_same_id_in_two_inputs_is_reported_and_the_first_kept(cli, corpus, tmp_path):
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "fr-repost", "text": "Un tout autre article."}])
    r = ok(cli("find", corpus.path, other))
    assert groups(stdout_records(r)) == expected_groups(corpus)
    assert f"warning: {other}:1 (id 'fr-repost'): duplicate id 'fr-repost' (first seen at {corpus.path}:" in r.stderr


def test_text_and_id_field_renaming(cli, corpus, tmp_path):
    renamed = [{("guid" if k == "id" else "body" if k == "text" else k): v for k, v in r.items()} for r in CORPUS]
    path = write_jsonl(tmp_path / "renamed.jsonl", renamed)
    r = ok(cli("find", path, "--text-field", "body", "--id-field", "guid"))
    assert r.stdout == ok(cli("find", corpus.path)).stdout

    # without the options every record is reported and skipped; with nothing left, the run fails
    r = cli("find", path)
    assert r.exit_code == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == len(CORPUS) + 1
    assert all("missing field 'id' (choose another with --id-field); record skipped" in x for x in lines[:-1])
    assert lines[-1] == f"error: no documents could be read ({len(CORPUS)} problems reported above)"
    r = cli("find", path, "--id-field", "guid")
    assert r.exit_code == 1
    assert all("missing field 'text' (choose another with --text-field); record skipped" in x
               for x in r.stderr.splitlines()[:-1])


def test_published_field_renaming_changes_the_representative(cli, tmp_path):
    # "date" makes the copy the earlier one; without --published-field dates are unknown and the smallest id wins
    recs = [{"id": "a-copy", "date": "2024-01-01T00:00:00Z", "text": CORPUS[1]["text"]},
            {"id": "b-orig", "date": "2024-01-02T00:00:00Z", "text": CORPUS[2]["text"]}]
    path = write_jsonl(tmp_path / "d.jsonl", recs)
    assert stdout_records(ok(cli("find", path)))[0]["representative"] == "a-copy"
    recs[0]["date"], recs[1]["date"] = recs[1]["date"], recs[0]["date"]
    write_jsonl(path, recs)
    assert stdout_records(ok(cli("find", path, "--published-field", "date")))[0]["representative"] == "b-orig"


# -- explain -------------------------------------------------------------------------------------------------


def test_explain_prints_figures_and_passages(cli, corpus):
    r = ok(cli("explain", "fr-original", "fr-repost", corpus.path))
    ex = json.loads(ok(cli("explain", "fr-original", "fr-repost", corpus.path, "--json")).stdout)
    out = r.stdout
    assert "fr-original" in out and "fr-repost" in out
    for name in ("jaccard", "estimated_jaccard", "containment_a_in_b", "containment_b_in_a"):
        assert re.search(rf"\b{name}\b\s*│\s*{ex[name]:.3f}\b", out), name
    assert f"{ex['shingles_a']}, {ex['shingles_b']}, {ex['shared_shingles']}" in out
    assert f"{len(ex['passages'])} shared passages" in out
    assert len(ex["passages"]) >= 2
    # passages are the shared (normalised) text, shown side by side
    flat = _flat(out)
    assert "l entrée sera gratuite pour tous les habitants pendant le premier mois" in flat
    for p in ex["passages"]:
        assert p["a"].split()[0] in out


def test_explain_json_matches_find(cli, corpus, tmp_path):
    ok(cli("find", corpus.path, "--out", tmp_path / "out"))
    pairs = read_jsonl(tmp_path / "out" / "pairs.jsonl")
    assert len(pairs) >= 5
    for p in pairs:
        r = ok(cli("explain", p["a"], p["b"], corpus.path, "--json"))
        ex = json.loads(r.stdout)
        assert ex["a"] == p["a"] and ex["b"] == p["b"]
        for f in ("jaccard", "estimated_jaccard", "containment_a_in_b", "containment_b_in_a"):
            assert ex[f] == p[f], (p["a"], p["b"], f)
        assert ex["shared_shingles"] <= min(ex["shingles_a"], ex["shingles_b"])
        assert ex["jaccard"] == round(ex["shared_shingles"] / (ex["shingles_a"] + ex["shingles_b"]
                                                                - ex["shared_shingles"]), 6)
        for q in ex["passages"]:
            assert set(q) == {"a", "b", "a_units", "b_units"}
            assert q["a"] == q["b"]  # a shared passage reads the same on both sides


def test_explain_json_of_unrelated_articles(cli, corpus):
    ex = json.loads(ok(cli("explain", "es-tiempo", "ru-kultura", corpus.path, "--json")).stdout)
    assert ex["jaccard"] == 0 and ex["shared_shingles"] == 0 and ex["passages"] == []


def test_explain_accepts_the_same_parameters_as_find(cli, corpus, tmp_path):
    ok(cli("find", corpus.path, "--out", tmp_path / "out", "--unit", "char", "-k", "5"))
    [p] = [p for p in read_jsonl(tmp_path / "out" / "pairs.jsonl") if p["a"] == "fr-original"]
    ex = json.loads(ok(cli("explain", "fr-original", "fr-repost", corpus.path, "--json", "--unit", "char",
                           "-k", "5")).stdout)
    assert ex["jaccard"] == p["jaccard"]


def test_explain_unknown_id_is_exit_1(run_dedup, corpus):
    r = run_dedup("explain", "nope", "fr-repost", corpus.path)
    missing = "nope"
    assert r.returncode == 1
    err = r.stderr.decode()
    assert b"Traceback" not in r.stderr
    assert err.splitlines()[-1] == f"error: no document with id {missing!r} in the inputs"
    assert r.stdout == b""


@pytest.mark.parametrize("a,b,missing", [("fr-original", "nope", "nope"), ("x", "y", "x")])
def test_explain_unknown_id_in_process(cli, corpus, a, b, missing):
    r = cli("explain", a, b, corpus.path)
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == f"error: no document with id {missing!r} in the inputs"
    assert r.stdout == ""


def test_explain_reproduces_find_without_repeat_cleaning(cli, tmp_path):
    # a page that captured the article body twice, the second time slightly edited, next to the clean article
    by_id = {r["id"]: r for r in CORPUS}
    original = by_id["fr-original"]["text"]
    twice = original + "\n" + by_id["fr-repost"]["text"].replace("\n", " ") + "\nPhotos : mairie."
    path = write_jsonl(tmp_path / "twice.jsonl", [{"id": "page-twice", "text": twice},
                                                  {"id": "page-once", "text": original}])
    for options in ([], ["--no-clean-repeats"]):
        out = tmp_path / ("out" + "".join(options))
        ok(cli("find", path, "--out", out, *options))
        [p] = read_jsonl(out / "pairs.jsonl")
        r = cli("explain", "page-once", "page-twice", path, "--json", *options)
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["jaccard"] == p["jaccard"], options


@pytest.mark.parametrize("a,b,options", [
    ("wire[/b]1", "[ap]2", []),
    ("plain-a", "plain-b", ["--unit", "char", "-k", "5"]),
], ids=["ids", "char-passages"])
def test_explain_prints_brackets_literally(cli, tmp_path, a, b, options):
    text = "Markets closed higher [/update] after the central bank kept rates unchanged on Thursday."
    path = write_jsonl(tmp_path / "brackets.jsonl", [{"id": a, "text": text}, {"id": b, "text": text}])
    r = cli("explain", a, b, path, *options)
    assert r.exit_code == 0 and r.exception is None, repr(r.exception)
    assert a in r.stdout and b in r.stdout
    if options:
        assert "[/update]" in r.stdout

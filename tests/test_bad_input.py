"""Bad input through the real ``dedup find`` process.

Without --strict a bad record or file costs only itself: exit code 0, one warning
line on stderr naming file:line and the problem, no traceback, and every other
record still reaches the output (checked through --keep-first). With --strict the
first bad record stops the run with exit code 1 and one "error: ..." line.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import dedup

from conftest import CORPUS, Corpus, read_jsonl

GOOD = [r for r in CORPUS if r["text"].strip()]  # the corpus without its empty record
GOOD_KEPT = [i for i in Corpus(Path("."), CORPUS).kept_ids if i in {r["id"] for r in GOOD}]


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def good_lines(records=GOOD) -> list[bytes]:
    return [line(r) for r in records]


@dataclass
class Case:
    """Inputs with one problem in them, and what dedup must say about it."""

    inputs: list[Path]
    warning: str  # the one expected stderr line, without "warning: " / "error: "
    kept: list[str] = field(default_factory=lambda: list(GOOD_KEPT))  # ids --keep-first must write
    skipped: bool = True  # False: the record is used anyway (reported only)


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def empty_text(tmp: Path) -> Case:
    lines = good_lines()
    lines.insert(3, line({"id": "blank-001", "title": "Photo gallery", "text": "  \n "}))
    path = _write(tmp / "empty.jsonl", lines)
    return Case([path], f"{path}:4 (id 'blank-001'): empty text", sorted(GOOD_KEPT + ["blank-001"]), skipped=False)


def non_utf8(tmp: Path) -> Case:
    bad = b'{"id": "latin1-001", "text": "Caf\xe9 cr\xe8me au march\xe9 de No\xebl"}\n'  # Latin-1, not UTF-8
    lines = good_lines()
    lines.insert(5, bad)
    path = _write(tmp / "latin1.jsonl", lines)
    offset = bad.index(b"\xe9")
    return Case([path], f"{path}:6: not valid UTF-8 (byte 0xe9 at offset {offset}); record skipped")


HUGE_CHARS = 50 * 1024 * 1024


def huge_document(tmp: Path) -> Case:
    # 50 MB of ASCII text in one JSONL line: a 1 MiB block of seeded random words, repeated
    # (only the first 1,000,000 characters are used, and they do not repeat themselves)
    rng = random.Random(50)
    vocabulary = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{rng.getrandbits(12):x}" for _ in range(5000)]
    block = " ".join(rng.choices(vocabulary, k=200_000)).encode()[: 1024 * 1024]
    body = (block * 50)[:HUGE_CHARS]
    lines = good_lines()
    path = tmp / "huge.jsonl"
    with open(path, "wb") as f:
        f.writelines(lines[:2])
        f.write(b'{"id": "huge-001", "source": "Log Dump", "text": "' + body + b'"}\n')
        f.writelines(lines[2:])
    return Case([path], f"{path}:3 (id 'huge-001'): text has {HUGE_CHARS:,} characters; only the first "
                        "1,000,000 are used (--max-chars)", sorted(GOOD_KEPT + ["huge-001"]), skipped=False)


def truncated_last_line(tmp: Path) -> Case:
    lines = good_lines()
    cut = line({"id": "cut-001", "text": "The download stopped in the middle of this sentence and"})[:60]
    path = _write(tmp / "truncated.jsonl", lines + [cut])
    column = cut.index(b'"The') + 1
    return Case([path], f"{path}:{len(lines) + 1}: invalid JSON: Unterminated string starting at column {column}; "
                        "record skipped")


def missing_text_field(tmp: Path) -> Case:
    lines = good_lines()
    lines.insert(2, line({"id": "notext-001", "title": "Headline only", "source": "Feed"}))
    path = _write(tmp / "notext.jsonl", lines)
    return Case([path], f"{path}:3 (id 'notext-001'): missing field 'text' (choose another with --text-field); "
                        "record skipped")


def missing_file(tmp: Path) -> Case:
    first = _write(tmp / "part1.jsonl", good_lines(GOOD[:6]))
    second = _write(tmp / "part2.jsonl", good_lines(GOOD[6:]))
    missing = tmp / "part-missing.jsonl"
    return Case([first, missing, second], f"{missing}: cannot read: [Errno 2] No such file or directory; file skipped")


def corrupt_gzip(tmp: Path) -> Case:
    first = _write(tmp / "part1.jsonl", good_lines(GOOD[:6]))
    second = tmp / "part2.jsonl.gz"
    second.write_bytes(gzip.compress(b"".join(good_lines(GOOD[6:]))))
    bad = _write(tmp / "broken.jsonl.gz", [b"this is not gzip data"])
    return Case([first, bad, second], f"{bad}: cannot read: Not a gzipped file (b'th'); rest of the file skipped")


def unreadable_file(tmp: Path) -> Case:
    first = _write(tmp / "part1.jsonl", good_lines(GOOD[:6]))
    second = _write(tmp / "part2.jsonl", good_lines(GOOD[6:]))
    secret = _write(tmp / "secret.jsonl", good_lines([{"id": "secret-001", "text": "hidden"}]))
    secret.chmod(0)
    return Case([first, secret, second], f"{secret}: cannot read: [Errno 13] Permission denied; file skipped")


ROOT = sys.platform != "win32" and os.geteuid() == 0
CASES: dict[str, Callable[[Path], Case]] = {
    "empty-text": empty_text,
    "non-utf8": non_utf8,
    "50MB-document": huge_document,
    "truncated-last-line": truncated_last_line,
    "missing-text-field": missing_text_field,
    "missing-file": missing_file,
    "corrupt-gzip": corrupt_gzip,
    "unreadable-file": unreadable_file,
}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.skipif(ROOT, reason="root can read a mode-000 file"))
            if n == "unreadable-file" else n for n in names]


@pytest.mark.parametrize("name", _params(CASES))
def test_bad_input_is_skipped_with_one_warning(run_dedup, tmp_path, name):
    case = CASES[name](tmp_path)
    out, kept = tmp_path / "out", tmp_path / "kept.jsonl"
    r = run_dedup("find", *case.inputs, "--out", out, "--keep-first", kept)
    err = r.stderr.decode("utf-8")
    assert r.returncode == 0, err
    assert "Traceback" not in err
    assert err.splitlines() == [f"warning: {case.warning}"]
    assert case.warning.endswith(" skipped") == case.skipped
    assert r.stdout == b""
    # every other record survives: the kept corpus is what it would be without the bad record
    assert [x["id"] for x in read_jsonl(kept)] == case.kept
    clusters = read_jsonl(out / "clusters.jsonl")
    assert {(tuple(c["members"]), c["representative"]) for c in clusters} == set(Corpus.clusters)


@pytest.mark.parametrize("name", _params(["empty-text", "non-utf8", "truncated-last-line", "missing-text-field",
                                          "missing-file", "unreadable-file"]))
def test_strict_stops_at_the_first_bad_record(run_dedup, tmp_path, name):
    case = CASES[name](tmp_path)
    # a second problem after the first one: strict must stop before it
    later = tmp_path / "later.jsonl"
    later.write_bytes(line(GOOD[0] | {"id": "later-001"}) + b"{not json\n")
    out, kept = tmp_path / "out", tmp_path / "kept.jsonl"
    r = run_dedup("find", *case.inputs, later, "--strict", "--out", out, "--keep-first", kept)
    err = r.stderr.decode("utf-8")
    assert r.returncode == 1, err
    assert "Traceback" not in err
    assert err.splitlines() == [f"error: {case.warning}"]
    assert r.stdout == b""
    assert not out.exists() and not kept.exists()


def test_lone_surrogate_escape_survives_keep_first(run_dedup, tmp_path):
    lines = good_lines()
    # JSON escapes of half a surrogate pair, as written by software that cut an emoji in two
    lines.insert(2, b'{"id": "emoji-cut", "title": "Fans cheer \\ud83d", "text": "Fans cheered \\ud83d as the team '
                    b'arrived at the station on Friday evening."}\n')
    path = _write(tmp_path / "surrogates.jsonl", lines)
    kept = tmp_path / "kept.jsonl"
    r = run_dedup("find", path, "--keep-first", kept)
    err = r.stderr.decode()
    assert "Traceback" not in err
    assert r.returncode == 0, err
    assert err.splitlines() == [f"warning: {path}:3 (id 'emoji-cut'): field 'text' has unpaired surrogate escapes, "
                                "replaced by U+FFFD"]
    assert [x["id"] for x in read_jsonl(kept)] == sorted(GOOD_KEPT + ["emoji-cut"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl", "surrogates.jsonl"]  # no .tmp left


# The cases below are variations on the ones above; they run in-process to keep the suite fast.


def test_several_problems_are_each_reported_and_the_rest_kept(cli, tmp_path):
    lines = good_lines()
    lines.insert(1, b'{"id": "bad-utf8", "text": "\xff\xfe"}\n')
    lines.insert(4, line({"id": "no-text"}))
    lines.insert(7, b"[1, 2, 3]\n")
    lines.append(b'{"id": "cut", "text": "unfinished')
    path = _write(tmp_path / "messy.jsonl", lines)
    kept = tmp_path / "kept.jsonl"
    r = cli("find", path, "--keep-first", kept)
    assert r.exit_code == 0 and r.exception is None, r.stderr
    warnings = r.stderr.splitlines()
    where = [re.match(r"^warning: (.+?:[0-9]+)(?: \(id '[^']*'\))?: ", w) for w in warnings]
    assert [m and m[1] for m in where] == [f"{path}:{n}" for n in (2, 5, 8, len(lines))]
    assert all(w.endswith("; record skipped") for w in warnings)
    assert [x["id"] for x in read_jsonl(kept)] == GOOD_KEPT


def test_only_bad_input_is_an_error_after_every_problem_is_reported(cli, tmp_path):
    path = _write(tmp_path / "bad.jsonl", [b"\xff\n", b"{}\n"])
    out = tmp_path / "out"
    r = cli("find", path, "--out", out)
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit), r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 3 and lines[-1] == "error: no documents could be read (2 problems reported above)"
    assert not out.exists()


def test_an_empty_file_is_not_an_error(cli, tmp_path):
    path = _write(tmp_path / "empty.jsonl", [])
    out = tmp_path / "out"
    r = cli("find", path, "--out", out)
    assert r.exit_code == 0, r.stderr
    assert (out / "pairs.jsonl").read_bytes() == b"" and (out / "clusters.jsonl").read_bytes() == b""


def test_bad_stdin_line_names_stdin(cli):
    data = b"".join(good_lines()[:3]) + b"\xc3\x28 broken\n" + b"".join(good_lines()[3:])
    r = cli("find", "-", input=data)
    assert r.exit_code == 0 and r.exception is None, r.stderr
    assert r.stderr.splitlines() == ["warning: <stdin>:4: not valid UTF-8 (byte 0xc3 at offset 0); record skipped"]
    assert {tuple(json.loads(c)["members"]) for c in r.stdout.splitlines()} == {m for m, _ in Corpus.clusters}


def test_repetitive_document_costs_about_as_much_as_without_repeat_cleaning(cli, tmp_path):
    """A 50 MB dump that repeats one sentence (a broken scraper, a ticker) must not take minutes.

    In-process and relative to --no-clean-repeats, so that process start-up and machine speed cancel out.
    """
    warm = _write(tmp_path / "warm.jsonl", [line({"id": "w", "text": "a b c d. " * 50})])
    assert cli("find", warm).exit_code == 0  # load the compiled kernels first
    text = "The quick brown fox jumps over the lazy dog near the river bank. " * 4000  # 260,000 characters
    path = _write(tmp_path / "ticker.jsonl", [line({"id": "ticker", "text": text})])

    def seconds(*args) -> float:
        start = time.perf_counter()
        r = cli("find", path, *args)
        assert r.exit_code == 0, r.stderr
        return time.perf_counter() - start

    plain = seconds("--no-clean-repeats")
    cleaned = seconds()
    assert cleaned < 3 * plain + 0.3, f"{cleaned:.2f} s with repeat cleaning, {plain:.2f} s without"


@pytest.mark.parametrize("args, message", [
    (("a", None), "document 'a': text is NoneType: expected str"),
    (("a", b"bytes"), "document 'a': text is bytes: expected str"),
    ((7, "text"), "document id 7 is int: expected str"),
    (("a", "text", 3), "document 'a': title is int: expected str or None"),
])
def test_python_api_refuses_a_document_that_is_not_text(args, message):
    """The Python API's boundary: one clear error naming the record, not a failure deep in the hashing."""
    with pytest.raises(dedup.InputError) as caught:
        dedup.Document(*args)
    assert str(caught.value) == message

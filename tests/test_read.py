"""Read stage: formats, field names, and one exact one-line message per kind of problem."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.document import Document, Problem
from dedup.errors import InputError
from dedup.params import ReadParams
from dedup.read import ReadStats, read_all, read_documents

GOOD_A = b'{"id": "a", "text": "first"}'
GOOD_Z = b'{"id": "z", "text": "last"}'


def write(path, content: bytes | str):
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def jsonl(*records) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


# -- JSONL ------------------------------------------------------------------------------------


def test_jsonl_reads_every_field_and_keeps_the_record(tmp_path):
    rec = {"id": 7, "text": "Body.", "title": "T", "source": "S", "url": "http://u",
           "published": 1700000000, "lang": "en", "extra": [1]}
    path = write(tmp_path / "in.jsonl", jsonl(rec, {"id": "b", "text": "Two."}))
    docs, stats = read_all([path])
    assert docs == [
        Document("7", "Body.", "T", "S", "http://u", "1700000000", "en"),
        Document("b", "Two."),
    ]
    assert docs[0].record == rec
    assert stats == ReadStats(read=2, skipped=0, problems=[])


def test_metadata_objects_become_json_and_empty_strings_none(tmp_path):
    rec = {"id": "a", "text": "x", "source": {"name": "Reuters", "id": None}, "title": ""}
    docs, _ = read_all([write(tmp_path / "in.jsonl", jsonl(rec))])
    assert docs[0].source == '{"id": null, "name": "Reuters"}'
    assert docs[0].title is None


BAD_LINES = [
    # (line, message, record_id)
    (b'{"id": "b", "text": "caf\xff"}', "not valid UTF-8 (byte 0xff at offset 24)", None),
    (b'{"id": "b", "text": "abc', "invalid JSON: Unterminated string starting at column 21", None),
    (b'{"id": "b", "text": "abc"} x', "invalid JSON: Extra data at column 28", None),
    (b"[1, 2]", "expected a JSON object, got array", None),
    (b"null", "expected a JSON object, got null", None),
    (b'{"id": "b"}', "missing field 'text' (choose another with --text-field)", "b"),
    (b'{"text": "no id"}', "missing field 'id' (choose another with --id-field)", None),
    (b'{"id": "b", "text": null}', "field 'text' is null, expected a string", "b"),
    (b'{"id": "b", "text": 5}', "field 'text' is int, expected a string", "b"),
    (b'{"id": "b", "text": ["x"]}', "field 'text' is array, expected a string", "b"),
    (b'{"id": null, "text": "x"}', "field 'id' is null, expected a string or integer", None),
    (b'{"id": true, "text": "x"}', "field 'id' is bool, expected a string or integer", None),
    (b'{"id": "", "text": "x"}', "field 'id' is empty", None),
    (b'{"id": "a", "text": "again"}', None, "a"),  # duplicate: message names the path
    (b"[" * 100_000, "invalid JSON: nested too deeply", None),
]


@pytest.mark.parametrize("line,message,record_id", BAD_LINES)
def test_each_bad_line_is_skipped_with_one_exact_message(tmp_path, line, message, record_id):
    path = write(tmp_path / "in.jsonl", GOOD_A + b"\n" + line + b"\n" + GOOD_Z + b"\n")
    docs, stats = read_all([path])
    assert [d.id for d in docs] == ["a", "z"]
    if message is None:
        message = f"duplicate id 'a' (first seen at {path}:1)"
    assert stats.problems == [Problem(f"{path}:2", message, record_id)]
    assert stats.read == 2 and stats.skipped == 1
    assert "\n" not in str(stats.problems[0])


def test_truncated_last_line_is_reported(tmp_path):
    path = write(tmp_path / "in.jsonl", GOOD_A + b'\n{"id": "b", "text": "cut off he')
    docs, stats = read_all([path])
    assert [d.id for d in docs] == ["a"]
    assert stats.problems == [
        Problem(f"{path}:2", "invalid JSON: Unterminated string starting at column 21")]


def test_blank_lines_crlf_and_bom_are_fine(tmp_path):
    path = write(tmp_path / "in.jsonl", b"\xef\xbb\xbf" + GOOD_A + b"\r\n\n   \r\n" + GOOD_Z)
    docs, stats = read_all([path])
    assert [(d.id, d.text) for d in docs] == [("a", "first"), ("z", "last")]
    assert stats.problems == []


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_empty_text_is_kept_and_reported(tmp_path, text):
    path = write(tmp_path / "in.jsonl", jsonl({"id": "e", "text": text}, {"id": "z", "text": "x"}))
    docs, stats = read_all([path])
    assert [(d.id, d.text) for d in docs] == [("e", text), ("z", "x")]
    assert stats.problems == [Problem(f"{path}:1", "empty text", "e", skipped=False)]
    assert stats.skipped == 0


def test_long_text_is_truncated_and_reported(tmp_path):
    path = write(tmp_path / "in.jsonl", jsonl({"id": "l", "text": "abcdefghij" * 150}))
    docs, stats = read_all([path], ReadParams(max_chars=1000))
    assert docs[0].text == ("abcdefghij" * 100)
    assert stats.problems == [Problem(
        f"{path}:1", "text has 1,500 characters; only the first 1,000 are used (--max-chars)", "l",
        skipped=False)]


def test_lone_surrogate_escape_is_replaced(tmp_path):
    path = write(tmp_path / "in.jsonl", b'{"id": "s", "text": "emoji \\ud83d cut"}\n')
    docs, stats = read_all([path])
    assert docs[0].text == "emoji \ufffd cut"
    docs[0].text.encode("utf-8")  # later stages can hash it
    assert stats.problems == [Problem(
        f"{path}:1", "field 'text' has unpaired surrogate escapes, replaced by U+FFFD", "s", skipped=False)]


def test_duplicate_ids_across_inputs_and_int_ids(tmp_path):
    one = write(tmp_path / "one.jsonl", b'{"id": 1, "text": "x"}\n{"id": 2, "text": "y"}\n')
    two = write(tmp_path / "two.ndjson", b'{"id": "1", "text": "again"}\n{"id": 3, "text": "z"}\n')
    docs, stats = read_all([one, two])
    assert [d.id for d in docs] == ["1", "2", "3"]
    assert stats.problems == [Problem(f"{two}:1", f"duplicate id '1' (first seen at {one}:1)", "1")]


def test_field_renaming(tmp_path):
    rec = {"doc_id": "k", "body": "B", "headline": "H", "outlet": "O", "link": "L",
           "date": "2024-01-01", "language": "de", "id": "ignored", "text": "ignored"}
    params = ReadParams(id_field="doc_id", text_field="body", title_field="headline",
                        source_field="outlet", url_field="link", published_field="date",
                        lang_field="language")
    path = write(tmp_path / "in.jsonl", jsonl(rec, {"doc_id": "m"}))
    docs, stats = read_all([path], params)
    assert docs == [Document("k", "B", "H", "O", "L", "2024-01-01", "de")]
    assert stats.problems == [
        Problem(f"{path}:2", "missing field 'body' (choose another with --text-field)", "m")]


def test_unknown_extension_is_read_as_jsonl(tmp_path):
    docs, stats = read_all([write(tmp_path / "data.dump", GOOD_A)])
    assert [d.id for d in docs] == ["a"] and stats.problems == []


def test_single_path_is_accepted(tmp_path):
    docs, _ = read_all(write(tmp_path / "in.jsonl", GOOD_A))
    assert [d.id for d in docs] == ["a"]


# -- strict mode and the problem sink ------------------------------------------------------------


def test_strict_raises_at_the_first_problem(tmp_path):
    path = write(tmp_path / "in.jsonl", GOOD_A + b"\n[1]\n" + GOOD_Z)
    seen = []
    with pytest.raises(InputError) as err:
        for doc in read_documents([path], ReadParams(strict=True)):
            seen.append(doc.id)
    assert str(err.value) == f"{path}:2: expected a JSON object, got array; record skipped"
    assert seen == ["a"]


@pytest.mark.parametrize("content,expected", [
    (b'{"id": "b", "text": null}', "{p}:1 (id 'b'): field 'text' is null, expected a string; record skipped"),
    (b'{"id": "b", "text": " "}', "{p}:1 (id 'b'): empty text"),
])
def test_strict_message_is_the_problem(tmp_path, content, expected):
    path = write(tmp_path / "in.jsonl", content)
    with pytest.raises(InputError, match=re.escape(expected.format(p=path))):
        read_all([path], ReadParams(strict=True))


def test_strict_raises_on_missing_file(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InputError, match=re.escape(f"{missing}: cannot read: [Errno 2]")):
        read_all([missing], ReadParams(strict=True))


def test_without_a_sink_bad_records_are_still_skipped(tmp_path):
    path = write(tmp_path / "in.jsonl", GOOD_A + b"\n{bad\n" + GOOD_Z)
    assert [d.id for d in read_documents([path])] == ["a", "z"]


# -- unreadable inputs -------------------------------------------------------------------------------


def test_missing_file_is_reported_and_the_next_input_read(tmp_path):
    missing = tmp_path / "missing.jsonl"
    good = write(tmp_path / "good.jsonl", GOOD_A)
    docs, stats = read_all([missing, good])
    assert [d.id for d in docs] == ["a"]
    assert stats.problems == [Problem(str(missing), "cannot read: [Errno 2] No such file or directory", what="file")]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_reported(tmp_path):
    path = write(tmp_path / "secret.jsonl", GOOD_A)
    path.chmod(0)
    _, stats = read_all([path])
    assert stats.problems == [Problem(str(path), "cannot read: [Errno 13] Permission denied", what="file")]


def test_gzip(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(GOOD_A + b"\n[]\n" + GOOD_Z))
    docs, stats = read_all([path])
    assert [d.id for d in docs] == ["a", "z"]
    assert stats.problems == [Problem(f"{path}:2", "expected a JSON object, got array")]


def test_corrupt_gzip_is_reported_and_the_next_input_read(tmp_path):
    bad = write(tmp_path / "bad.jsonl.gz", b"not gzip at all")
    truncated = write(tmp_path / "cut.jsonl.gz", gzip.compress(GOOD_A + b"\n" + GOOD_Z * 100)[:-20])
    good = write(tmp_path / "good.jsonl", GOOD_Z)
    docs, stats = read_all([bad, truncated, good])
    assert [d.id for d in docs] == ["a", "z"]  # the line before the damage survives
    assert stats.problems == [
        Problem(str(bad), "cannot read: Not a gzipped file (b'no')", what="rest of the file"),
        Problem(str(truncated),
                "cannot read: Compressed file ended before the end-of-stream marker was reached",
                what="rest of the file"),
    ]


# -- CSV ------------------------------------------------------------------------------------------------


def test_csv(tmp_path):
    content = ('id,text,title\n'
               '1,"Body, with comma",T\n'
               '2,"two\nlines",\n'
               '\n'
               '3,only two\n'
               ',no id,x\n'
               '5,,empty\n'
               '1,dup,x\n'
               '6,last,L\n')
    path = write(tmp_path / "in.csv", content)
    docs, stats = read_all([path])
    assert [(d.id, d.text, d.title) for d in docs] == [
        ("1", "Body, with comma", "T"), ("2", "two\nlines", None), ("5", "", "empty"),
        ("6", "last", "L")]
    assert docs[0].record == {"id": "1", "text": "Body, with comma", "title": "T"}
    assert stats.problems == [
        Problem(f"{path}:6", "row has 2 fields, the header has 3"),
        Problem(f"{path}:7", "field 'id' is empty"),
        Problem(f"{path}:8", "empty text", "5", skipped=False),
        Problem(f"{path}:9", f"duplicate id '1' (first seen at {path}:2)", "1"),
    ]


def test_csv_bad_utf8_row_is_skipped(tmp_path):
    path = write(tmp_path / "in.csv", b'id,text\n1,"ok"\n2,"multi\nline \xff"\n3,fine\n')
    docs, stats = read_all([path])
    assert [d.id for d in docs] == ["1", "3"]
    assert stats.problems == [Problem(f"{path}:3", "not valid UTF-8 (byte 0xff at offset 5)")]


def test_csv_header_without_text_column_skips_the_file_once(tmp_path):
    path = write(tmp_path / "in.csv", "id,body\n1,a\n2,b\n")
    docs, stats = read_all([path])
    assert docs == []
    assert stats.problems == [Problem(
        f"{path}:1", "missing field 'text' in the CSV header (choose another with --text-field)",
        what="file")]
    docs, stats = read_all([path], ReadParams(text_field="body"))
    assert [(d.id, d.text) for d in docs] == [("1", "a"), ("2", "b")]


def test_csv_huge_field(tmp_path):
    path = write(tmp_path / "in.csv", "id,text\nbig," + "x" * 500_000 + "\n")
    docs, stats = read_all([path])
    assert len(docs[0].text) == 500_000 and stats.problems == []


# -- text files and folders ----------------------------------------------------------------------


def test_txt_folder(tmp_path):
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    write(root / "b.txt", "B text")
    write(root / "sub" / "a.txt", "A text")
    write(root / "sub" / "deeper" / "c.txt", "C text")
    write(root / "a.txt", "")
    write(root / "notes.md", "ignored")
    write(root / "sub" / "bad.txt", b"caf\xe9")
    docs, stats = read_all([root])
    assert [(d.id, d.text) for d in docs] == [
        ("a", ""), ("b", "B text"), ("sub/a", "A text"), ("sub/deeper/c", "C text")]
    assert docs[2].record == {"id": "sub/a", "text": "A text"}
    assert stats.problems == [
        Problem(os.path.join(root, "a.txt"), "empty text", "a", skipped=False),
        Problem(os.path.join(root, "sub", "bad.txt"), "not valid UTF-8 (byte 0xe9 at offset 3)", "sub/bad"),
    ]


def test_folder_without_txt_files_is_reported(tmp_path):
    write(tmp_path / "data.jsonl", GOOD_A)
    docs, stats = read_all([tmp_path])
    assert docs == []
    assert stats.problems == [Problem(str(tmp_path), "no *.txt files below this directory", skipped=False)]


def test_missing_folder_is_reported(tmp_path):
    missing = tmp_path / "gone"
    _, stats = read_all([missing, write(tmp_path / "x.txt", "x")])
    assert stats.problems == [Problem(str(missing), "cannot read: [Errno 2] No such file or directory", what="file")]


def test_single_txt_file(tmp_path):
    path = write(tmp_path / "story.one.txt", "Once upon a time.\n")
    docs, stats = read_all([path])
    assert docs == [Document("story.one", "Once upon a time.\n")]
    assert docs[0].record == {"id": "story.one", "text": "Once upon a time.\n"}
    assert stats.problems == []


# -- stdin ------------------------------------------------------------------------------------------


def test_stdin(tmp_path):
    stdin = io.BytesIO(GOOD_A + b"\n\n{oops\n" + GOOD_Z + b"\n")
    docs, stats = read_all(["-"], stdin=stdin)
    assert [d.id for d in docs] == ["a", "z"]
    assert stats.problems == [
        Problem("<stdin>:3", "invalid JSON: Expecting property name enclosed in double quotes at column 2")]
    assert not stdin.closed  # the caller's stream is not ours to close


# -- a huge line ------------------------------------------------------------------------------------


def test_fifty_megabyte_line(tmp_path):
    n = 50_000_000
    path = write(tmp_path / "big.jsonl", b'{"id": "big", "text": "' + b"ab" * (n // 2) + b'"}\n' + GOOD_Z)
    start = time.perf_counter()
    docs, stats = read_all([path], ReadParams(max_chars=1000))
    assert [d.id for d in docs] == ["big", "z"]
    assert docs[0].text == "ab" * 500
    assert stats.problems == [Problem(
        f"{path}:1", "text has 50,000,000 characters; only the first 1,000 are used (--max-chars)",
        "big", skipped=False)]
    docs, stats = read_all([path], ReadParams(max_chars=n))
    assert len(docs[0].text) == n and stats.problems == []
    assert time.perf_counter() - start < 3


# -- property: good records survive in order, one problem per bad line ---------------------------

MALFORMED = [
    b"\xff\xfe not UTF-8",
    b'{"id": "x", "text": "unterminated',
    b"[1, 2, 3]",
    b'"a string"',
    b"{",
    b"not json at all",
    b'{"id": "m"}',
    b'{"text": "no id"}',
    b'{"id": "n", "text": null}',
    b'{"id": "i", "text": 5}',
    b'{"id": {}, "text": "x"}',
]
DUPLICATE = object()

records = st.lists(
    st.tuples(st.one_of(st.text(min_size=1, max_size=10), st.integers()),
              st.text(min_size=1, max_size=40).filter(lambda t: not t.isspace())),
    unique_by=lambda r: str(r[0]), max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good=records, data=st.data(), final_newline=st.booleans())
def test_property_good_records_survive_bad_lines_are_counted(tmp_path_factory, good, data, final_newline):
    lines: list[bytes] = []
    bad_lines: list[int] = []
    written: list = []
    for rec_id, text in good:
        for extra in data.draw(st.lists(st.sampled_from([*MALFORMED, b"", DUPLICATE]), max_size=3)):
            if extra is DUPLICATE:
                if not written:
                    continue
                extra = json.dumps({"id": data.draw(st.sampled_from(written))[0], "text": "dup"}).encode()
            lines.append(extra)
            if extra:  # blank lines are not problems
                bad_lines.append(len(lines))
        lines.append(json.dumps({"id": rec_id, "text": text}, ensure_ascii=False).encode())
        written.append((rec_id, text))
    path = tmp_path_factory.getbasetemp() / "property.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))

    docs, stats = read_all([path])
    assert [(d.id, d.text) for d in docs] == [(str(i), t) for i, t in good]
    assert len(stats.problems) == len(bad_lines) == stats.skipped
    assert [p.where for p in stats.problems] == [f"{path}:{n}" for n in bad_lines]
    assert all("\n" not in str(p) for p in stats.problems)

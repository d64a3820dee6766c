"""Anchors: names versus words, aliases, numbers, dates, genitives, language guess (fictional sentences)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.anchors import DETECT_LANGS, _stopword_langs, _stopwords, anchor_key, anchor_set, detect_language, fold
from dedup.anchors import parse_number

REPO = Path(__file__).resolve().parent.parent


def keys(text: str, lang: str | None = None) -> set[str]:
    return set(anchor_set(text, lang))


@pytest.mark.parametrize("text,lang", [
    ("The deal was signed in the US on Friday by the minister.", "en"),
    ("The deal was signed in the U.S. on Friday by the minister.", "en"),
    ("The deal was signed in the USA on Friday by the minister.", "en"),
    ("De deal werd vrijdag in de VS getekend door de minister.", "nl"),
    ("De deal werd vrijdag in de Verenigde Staten getekend door de minister.", "nl"),
    ("Der Vertrag wurde am Freitag in den Vereinigten Staaten unterzeichnet.", "de"),
    ("Der Vertrag wurde am Freitag in den Vereinigte Staaten unterzeichnet.", "de"),
    ("El acuerdo se firmó el viernes en EEUU por el ministro.", "es"),
    ("El acuerdo se firmó el viernes en Estados Unidos por el ministro.", "es"),
    ("L'accordo è stato firmato venerdì negli Stati Uniti dal ministro.", "it"),
])
def test_united_states_aliases(text, lang):
    assert "us" in keys(text, lang)


def test_other_aliases_and_folding():
    assert anchor_key("EU") == anchor_key("UE") == "eu"
    assert anchor_key("VK") == anchor_key("Großbritannien") == anchor_key("UK") == "uk"
    assert anchor_key("Peking") == anchor_key("Beijing") == "beijing"
    assert fold("Škoda Ærø Straße") == "skoda aero strasse"
    assert fold("Москва") == "moskva"
    assert anchor_key("Zoë Müller-Lüdenscheidt") == "zoe muller ludenscheidt"


@pytest.mark.parametrize("raw,lang,value", [
    ("3412", "en", "3412"), ("3.412", "de", "3412"), ("3,412", "en", "3412"), ("3.412", "nl", "3412"),
    ("3.412", "en", "3.412"), ("3,412", "de", "3.412"), ("20,1", "nl", "20.1"), ("20.1", "de", "20.1"),
    ("20.1", "en", "20.1"), ("1.234.567", "it", "1234567"), ("1,234,567", "en", "1234567"),
    ("1.234,5", "de", "1234.5"), ("1,234.5", "en", "1234.5"), ("1\u00a0234\u00a0567", "fr", "1234567"),
])
def test_parse_number_by_locale(raw, lang, value):
    assert parse_number(raw, lang) == Decimal(value)


def test_numbers_with_scale_and_percent_agree_across_languages():
    texts = {
        "en": "Boeing lost a contract worth 40 billion dollars; shares fell 3.5 percent.",
        "nl": "Boeing verloor een contract van 40 miljard dollar; de aandelen daalden 3,5 procent.",
        "de": "Boeing verlor einen Auftrag über 40 Milliarden Dollar; die Aktie fiel um 3,5 Prozent.",
        "es": "Boeing perdió un contrato de 40.000 millones de dólares; las acciones cayeron un 3,5%.",
        "it": "Boeing ha perso un appalto da 40 miliardi di dollari; le azioni sono scese del 3,5 per cento.",
    }
    for lang, text in texts.items():
        k = keys(text, lang)
        assert {"40000000000", "3.5%", "boeing"} <= k, (lang, k)
    # small integers are not anchors, years are
    assert keys("In 2019 three of the 4 firms sold 7 plants.", "en") & {"4", "7"} == set()
    assert "2019" in keys("In 2019 three of the 4 firms sold 7 plants.", "en")


def test_dates_across_languages():
    for text, lang in [("It happened on 1 March in Oslo.", "en"), ("It happened on March 1st in Oslo.", "en"),
                       ("Het gebeurde op 1 maart in Oslo.", "nl"), ("Es geschah am 1. März in Oslo.", "de"),
                       ("Ocurrió el 1 de marzo en Oslo.", "es"), ("È successo il 1 marzo a Oslo.", "it")]:
        assert "date:3-1" in keys(text, lang), text


def test_german_nouns_are_not_names():
    text = ("Die Journalisten der Zeitung berichteten über die Spionage von Bytedance in Oslo. "
            "Laut einer Untersuchung des Wirtschaftsmagazins Forbes hat der Konzern die Daten genutzt.")
    k = keys(text, "de")
    assert {"bytedance", "oslo", "forbes"} <= k
    assert not k & {"journalisten", "zeitung", "spionage", "untersuchung", "konzern", "daten",
                    "wirtschaftsmagazins", "die", "laut"}


def test_sentence_initial_words_and_title_case():
    text = ("Contact between the reporters and staff was tracked. The company denied it.\n"
            "Officials Say Markets Rally After Vote\n"
            "Regulators in Brussels said the contact was legal.")
    k = keys(text, "en")
    assert "brussels" in k
    assert not k & {"contact", "the", "officials", "say", "markets", "rally", "after", "vote", "regulators"}


def test_internal_capitals_acronyms_codes_and_phrases():
    text = ("Staff at ByteDance and TikTok used the iPhone app, the FBI said. Airbus delivered an A330 "
            "to the Financial Times reporter Erich Andersen, the CEOs said.")
    k = keys(text, "en")
    assert {"bytedance", "tiktok", "iphone", "fbi", "airbus", "a330", "financial times", "erich andersen",
            "andersen", "ceo"} <= k


def test_genitive_s_dropped_only_when_bare_form_present():
    k = keys("TikTok wächst. Auch vonseiten TikToks gibt es eine Stellungnahme von Forbes.", "de")
    assert "tiktok" in k and "tiktoks" not in k
    assert "forbes" in k and "forbe" not in k
    k = keys("Volgens Trump en de woordvoerder van Trumps campagne.", "nl")
    assert "trump" in k and "trumps" not in k


@pytest.mark.parametrize("text,lang", [
    ("The minister said that the new law would be passed by the end of the year.", "en"),
    ("De minister zei dat de nieuwe wet voor het einde van het jaar wordt aangenomen.", "nl"),
    ("Der Minister sagte, dass das neue Gesetz bis zum Ende des Jahres verabschiedet wird.", "de"),
    ("El ministro dijo que la nueva ley se aprobará antes de que termine el año.", "es"),
    ("Il ministro ha detto che la nuova legge sarà approvata entro la fine dell'anno.", "it"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text,want", [
    ("Airbus delivers first A380\nOctober 15, 2007\nThe first A380 was delivered today.", "2007-10-15"),
    ("Eerste Airbus A380 opgeleverd\n15-Oct-07\nDe eerste A380 is vandaag opgeleverd.", "2007-10-15"),
    ("Se ha entregado el primer Airbus A380\n15 de octubre del 2007\nEl primer A380...", "2007-10-15"),
    ("Primo Airbus A380 consegnato\n15 ottobre 2007\nIl primo A380...", "2007-10-15"),
    ("Erster A380 ausgeliefert\n15. Oktober 2007\nDer erste A380...", "2007-10-15"),
    ("Posted 2007-10-15: the first A380 was delivered.", "2007-10-15"),
])
def test_text_date_reads_datelines(text, want):
    from dedup.anchors import text_date

    assert text_date(text) == want


def test_text_date_none_without_a_full_date():
    from dedup.anchors import text_date

    assert text_date("It happened on 1 March in Oslo; 2007 was a good year.") is None
    assert text_date("x" * 500 + " October 15, 2007") is None  # only the start of the text is a dateline


@pytest.mark.parametrize("word", ["the", "straße", "strasse", "größer", "café", "ijsselmeer", "ĳssel", "naïve",
                                  "l'homme", "covid-19", "abc123", "xyzzyqq", "über", "ß", "années", "façade"])
def test_zipf_table_lookup_agrees_with_wordfreq(word):
    from wordfreq import zipf_frequency

    from dedup.anchors import _zipf

    for lang in ("en", "de", "nl", "es", "it", "fr"):
        assert _zipf(word, lang) == zipf_frequency(word, lang), (word, lang)


def test_dates_found_through_the_text_months_are_the_dates_found_by_trying_every_word():
    from dedup.anchors import _dates

    text = ("On 1 March and March 2nd, then 3. März, 4 de marzo, 5 maart 2021 and 6 marzo; "
            "12 people met on Tuesday 7 and maart 8. Maarten 9 is no date, nor March 10.5.")
    months = tuple(sorted({"March", "März", "marzo", "maart"}))
    assert _dates(text, months) == _dates(text)
    assert {a.key for a in _dates(text)} >= {"date:3-1", "date:3-2", "date:3-3", "date:3-4", "date:3-5", "date:3-6"}


def test_lower_case_sightings_unmake_names_whatever_the_letters():
    # a capitalised word is no name when the text also has it in lower case (compared case folded)
    assert "zorbq" not in keys("We met Zorbq today. Then zorbq left.", "en")
    assert "zorbq" not in keys("We met Zörbq today. Then zörbq left.", "en")
    assert "strauss" not in keys("We met Strauss today. Then strauß left.", "en")  # 'ß' folds to 'ss'
    assert "zorbq" in keys("We met Zörbq today.", "en")
    assert "zorbq" in keys("We met Zorbq today. Then zorbq1 left.", "en")  # a token with digits is no word


def test_number_pattern_matches_as_its_plain_form():
    # _NUMBER has its first digit up front (faster to search); it must match as the plain pattern
    import re

    from dedup.anchors import _NUMBER

    plain = re.compile(r"(?<![\w.,])(\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+|\d[\d.,]*\d|\d)(?![\w])"
                       r"(?:\s?(%|[^\W\d_]+(?:\s[^\W\d_]+)?))?")
    text = ("1 A330 x1 .5 ,7 _8 3.412 1,234,567.8 1\u00a0234\u00a0567 40 miljard 3,5 procent 12% 2019, 7a "
            "10.5. \u0663\u0664 mil millones 0 9")
    assert [(m.span(), m.groups()) for m in _NUMBER.finditer(text)] == \
        [(m.span(), m.groups()) for m in plain.finditer(text)]
    assert len(list(_NUMBER.finditer(text))) > 10


def test_detect_language_folds_case():
    assert detect_language("THE MINISTER SAID THAT THE NEW LAW WOULD BE PASSED BY THE END OF THE YEAR.") == "en"


@pytest.mark.parametrize("text", ["1 March was a day", "March 2 was a day", "On 3 March", "On March 4",
                                  "XMarch 5, 6 Marchx, A7 March, 8 März.", "März 9", "9. März 10 maart 11",
                                  "_March 12 and 13_ maart", "٣ March 14"])
def test_dates_with_the_text_months_at_edges_and_inside_words(text):
    from dedup.anchors import _dates

    assert _dates(text, ("March", "maart", "März")) == _dates(text)


def detect_language_reference(text: str, default: str = "en") -> str:
    """The guess as it was made before the compiled loop: every letter run case folded and looked up."""
    langs = _stopword_langs()
    hits = [0] * len(DETECT_LANGS)
    for word in filter(langs.__contains__, map(str.casefold, re.findall(r"[^\W\d_]+", text[:3000]))):
        for i in langs[word]:
            hits[i] += 1
    best, best_hits = default, 0
    for lang, h in zip(_stopwords(), hits):
        if h > best_hits:
            best, best_hits = lang, h
    return best


STOPWORDS = sorted(set().union(*_stopwords().values()))
WORDS = (st.sampled_from(STOPWORDS).flatmap(lambda w: st.sampled_from([w, w.upper(), w.title(), w + "s", w + "2"]))
         | st.sampled_from(["_", "x", "\u212aein", "İn", "ǅe", "ÜBER", "straße", "la9", "the_", "Überhaupt", "ａｎｄ"])
         | st.text(max_size=12))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(WORDS, st.sampled_from([" ", ", ", "\n", "-", "'", "1", ""])), max_size=200))
def test_detect_language_counts_the_stop_words_the_regular_expression_finds(parts):
    """ASCII runs in the compiled loop, the others as strings: the guess of every letter run looked up."""
    text = "".join(w + gap for w, gap in parts)
    assert detect_language(text) == detect_language_reference(text)
    assert detect_language(text, default="xx") == detect_language_reference(text, default="xx")


def test_detect_language_on_the_example_corpus_and_shared_data():
    """Real text: the example corpus, and the seeds and shared data where present."""
    files = [REPO / "examples" / "corpus.jsonl"] + sorted((REPO.parent / "shared" / "data").glob("*/*.jsonl"))
    texts = [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    texts += [p.read_text(encoding="utf-8") for p in (REPO.parent / "shared" / "seeds").glob("*.txt")]
    assert len(texts) >= 61  # the example corpus at least (the shared data and seeds where present)
    for text in texts:
        for start in range(0, len(text), 1500):  # and every window of a long text
            assert detect_language(text[start:]) == detect_language_reference(text[start:])


def test_stopword_loop_hands_back_runs_it_cannot_look_up():
    """Runs with a non-ASCII letter, and ASCII runs longer than 8 up to the longest stop word, come back as
    (start, end); shorter ASCII runs are counted by their packed bytes, case folded; longer ones are dropped."""
    import numpy as np

    from dedup.shingle import code_points, letter_classes
    from dedup.stories_kernels import stopword_hits

    key = int.from_bytes(b"the", "little")
    text = "The über x1thE abcdefghij abcdefghijkl _the"
    hits, other = stopword_hits(code_points(text), letter_classes(), np.array([key], np.uint64), np.array([0b10]), 10, 2)
    assert hits.tolist() == [0, 3]  # The, thE (after a digit), the (after _)
    assert [text[s:e] for s, e in zip(other[0::2], other[1::2])] == ["über", "abcdefghij"]

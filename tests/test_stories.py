"""Stories: the seed articles form one story, related-but-different news stays out, no chaining,
deterministic, copy links directed earlier -> later. Negatives are fictional and written here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import Document
from dedup.errors import ParameterError
from dedup.stories import (HEADLINE_REPEAT, WORD_PATTERN, StoryParams, _word_counts, average_linkage, find_stories,
                           link_records, story_records, tfidf_rows, word_ids)

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
NL_SEED, DE_SEED = "000_788be57eaba0f7b1", "002_4dade596ac4ed164"

# Fictional news sharing TikTok / ByteDance / Forbes / US with the seeds, about other events.
NEGATIVES = [
    Document("neg-nl-tiktok-shop", "TikTok lanceert webwinkel in Nederland\n"
             "TikTok opent volgende maand een webwinkel voor Nederlandse gebruikers, meldt het bedrijf. "
             "Moederbedrijf ByteDance test de functie al sinds 2021 in Indonesië en het Verenigd Koninkrijk. "
             "Volgens marketingbureau Vlemmix uit Eindhoven kopen jongeren steeds vaker via de app. "
             "Directeur Sanne Vlemmix verwacht dat 35 procent van de verkopers in Amsterdam meedoet.", lang="nl"),
    Document("neg-de-bytedance-revenue", "Bytedance steigert Umsatz deutlich\n"
             "Der chinesische Konzern Bytedance hat seinen Umsatz im vergangenen Jahr auf 85 Milliarden Dollar "
             "gesteigert. Das berichtet die Nachrichtenagentur Bloomberg unter Berufung auf Insider. "
             "Finanzchef Julio Martinello sagte in Singapur, das Wachstum komme vor allem aus dem Werbegeschäft "
             "der Video-App TikTok in Südostasien. In den USA stagniere das Geschäft.", lang="de"),
    Document("neg-en-forbes-list", "Forbes publishes its list of the richest people in Norway\n"
             "Forbes on Tuesday published its annual list of Norway's richest people, led for the third year by "
             "shipping heir Ingrid Halvorsen with a fortune of 12.4 billion dollars. Oslo investor Petter Lund "
             "climbed to second place after the listing of his salmon company Nordlaks on the Oslo exchange.",
             lang="en"),
    Document("neg-en-tiktok-ban", "Montana lawmakers vote on TikTok ban\n"
             "Lawmakers in Montana voted 54 to 43 on Friday to ban TikTok on personal devices from January. "
             "Governor Greg Gianforte is expected to sign the bill. ByteDance, TikTok's Chinese owner, said the "
             "ban violated the First Amendment and that it would challenge it in court in Helena.", lang="en"),
    Document("neg-de-forbes-cars", "Forbes kürt die zuverlässigsten Autos\n"
             "Das US-Magazin Forbes hat eine Rangliste der zuverlässigsten Autos veröffentlicht. "
             "Auf dem ersten Platz landete der Toyota Corolla, gefolgt vom Honda Civic und dem Mazda MX-5. "
             "Ausgewertet wurden 1,2 Millionen Werkstattberichte aus Kalifornien und Texas.", lang="de"),
    Document("neg-nl-buzzfeed", "BuzzFeed stopt met nieuwsdienst\n"
             "Het Amerikaanse mediabedrijf BuzzFeed stopt met BuzzFeed News, maakte topman Jonah Peretti bekend. "
             "Zo'n 180 medewerkers verliezen hun baan. De site won in 2021 nog een Pulitzerprijs.", lang="nl"),
]


def seed_docs() -> list[Document]:
    if not SEEDS.is_dir():
        pytest.skip(f"seed articles not found at {SEEDS} (../shared/seeds is absent)")
    return [Document(NL_SEED, (SEEDS / f"{NL_SEED}.txt").read_text(encoding="utf-8"), lang="nl"),
            Document(DE_SEED, (SEEDS / f"{DE_SEED}.txt").read_text(encoding="utf-8"), lang="de")]


def test_seeds_form_one_story_and_negatives_stay_out():
    result = find_stories(seed_docs() + NEGATIVES)
    assert [s.members for s in result.stories] == [(NL_SEED, DE_SEED)]
    story = result.stories[0]
    assert story.languages == ("de", "nl")
    links = list(link_records(result))
    assert len(links) == 1 and links[0]["kind"] == "rewrite" and "direction" not in links[0]
    names = set(links[0]["evidence"]["names"])
    assert {"bytedance", "financial times", "buzzfeed", "trump"} <= names


def test_seeds_are_found_without_language_field():
    docs = [Document(d.id, d.text) for d in seed_docs() + NEGATIVES]
    result = find_stories(docs)
    assert [s.members for s in result.stories] == [(NL_SEED, DE_SEED)]
    assert result.languages[NL_SEED] == "nl" and result.languages[DE_SEED] == "de"


def test_one_shared_famous_name_is_no_story():
    docs = [Document("a", "TikTok said on Monday that it would hire more moderators.", lang="en"),
            Document("b", "TikTok heeft een nieuwe functie voor video's gelanceerd.", lang="nl")]
    assert find_stories(docs).stories == []


def test_average_linkage_does_not_chain():
    # A~B strongly, B~C weakly, A and C unrelated: single linkage would give {A, B, C}
    scores = {(0, 1): 0.9, (1, 2): 0.35}
    labels = average_linkage(3, [(0, 1), (1, 2)], lambda i, j: scores.get((min(i, j), max(i, j)), 0.0), 0.3)
    assert labels == [0, 0, 2]
    # a big tight story and a neighbour linked to one member only
    tight = {(i, j): 0.8 for i in range(4) for j in range(i + 1, 4)}
    tight[(3, 4)] = 0.6
    labels = average_linkage(5, sorted(tight), lambda i, j: tight.get((min(i, j), max(i, j)), 0.0), 0.3)
    assert labels == [0, 0, 0, 0, 4]


def test_average_linkage_counts_pairs_without_an_edge_as_zero():
    # {0, 1} + {2}: with the 1-2 edge the linkage is (0.2 + 0.6) / 2 = 0.4, without it 0.2 / 2 = 0.1
    scores = {(0, 1): 0.9, (0, 2): 0.2, (1, 2): 0.6}

    def score(i, j):
        return scores[(min(i, j), max(i, j))]

    assert average_linkage(3, [(0, 1), (0, 2), (1, 2)], score, 0.3) == [0, 0, 0]
    assert average_linkage(3, [(0, 1), (0, 2)], score, 0.3) == [0, 0, 2]


def test_anchors_held_by_more_than_max_bucket_documents_make_no_candidates():
    text = ("Dock workers in Halvern struck on Monday. Union leader Marit Osen and port director Jens Kalvik met "
            "at the Skarholm terminal; Osen demanded 4.5 percent more pay for 2,300 workers.")
    docs = [Document(f"d{i}", text + f" Report number {100 + i}.", lang="en") for i in range(6)]
    capped = find_stories(docs, StoryParams(max_bucket=5, max_df=1.0, copy_threshold=None))
    assert capped.stats["candidates"] == 0 and capped.stories == []
    found = find_stories(docs, StoryParams(max_bucket=6, max_df=1.0, copy_threshold=None))
    assert found.stats["candidates"] == 15 and [len(s.members) for s in found.stories] == [6]


def test_links_are_read_lazily_and_in_order():
    result = find_stories(seed_docs() + NEGATIVES)
    links = result.links
    assert len(links) == 1 and links[0] == links[-1] == list(links)[0] == links[:1][0]
    with pytest.raises(IndexError):
        links[1]


def test_dateline_stands_in_for_missing_dates():
    a = ("Halvern port strike ends\nMarch 4, 2021\nDock workers in Halvern ended their strike on Monday after "
         "union leader Marit Osen and port director Jens Kalvik agreed on 4.5 percent more pay for 2,300 workers "
         "at the Skarholm terminal.")
    b = ("Halvern port strike ends again\nMarch 7, 2023\nDock workers in Halvern ended their strike on Monday after "
         "union leader Marit Osen and port director Jens Kalvik agreed on 4.5 percent more pay for 2,300 workers "
         "at the Skarholm terminal.")
    docs = [Document("a", a, lang="en"), Document("b", b, lang="en")]
    near = find_stories(docs, StoryParams(copy_threshold=None, word_weight=0, season_penalty=1.0, far_penalty=1.0))
    far = find_stories(docs, StoryParams(copy_threshold=None, word_weight=0, season_penalty=0.01, far_penalty=0.01))
    assert [s.members for s in near.stories] == [("a", "b")]
    assert near.stories[0].first_published is None  # the dateline is used for scoring only
    assert far.stories == []


def test_no_chaining_end_to_end():
    a = ("Harbour workers in Halvern struck on Monday. Union leader Marit Osen and port director Jens Kalvik "
         "met at the Skarholm terminal; Osen demanded 4.5 percent more pay for 2,300 workers.")
    b = ("Havenarbeiders in Halvern staakten maandag. Vakbondsleider Marit Osen en havendirecteur Jens Kalvik "
         "spraken in de Skarholm-terminal; Osen eist 4,5 procent meer loon voor 2.300 arbeiders. Ook minister "
         "Tove Brandal en rederij Nordvik Lines reageerden.")
    c = ("Minister Tove Brandal visited shipping company Nordvik Lines in Bergvik to open the Lysfjord ferry, "
         "which carries 640 passengers and cost 85 million crowns.")
    result = find_stories([Document("a", a, lang="en"), Document("b", b, lang="nl"), Document("c", c, lang="en")])
    assert [s.members for s in result.stories] == [("a", "b")]


def test_deterministic_under_shuffle():
    docs = seed_docs() + NEGATIVES
    want = (list(story_records(find_stories(docs))), list(link_records(find_stories(docs))))
    for seed in range(3):
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        result = find_stories(shuffled)
        assert (list(story_records(result)), list(link_records(result))) == want


def test_workers_give_the_same_result(monkeypatch):
    import dedup.stories as stories

    docs = seed_docs() + NEGATIVES + [Document(d.id + "-again", d.text) for d in NEGATIVES]
    want = find_stories(docs)
    monkeypatch.setattr(stories, "WORK_CHUNK", 3)  # several tasks even for a few documents
    got = find_stories(docs, workers=2)
    assert list(story_records(got)) == list(story_records(want))
    assert list(link_records(got)) == list(link_records(want))
    assert got.languages == want.languages
    with pytest.raises(ParameterError, match=r"^workers=0 is invalid"):
        find_stories(docs, workers=0)


def test_copy_links_are_directed_earlier_to_later():
    body = ("Dock workers at the port of Halvern walked off the job on Monday morning, halting the loading of "
            "container ships for the first time in eleven years.\nThe strike was called by the Harbour and "
            "Transport Union after talks with the port authority over wages and night shift safety broke down.\n"
            "Union spokeswoman Marit Osen said members had rejected an offer of a three percent raise.")
    docs = [Document("a-repost", body + "\nRead more on Ledger.", source="ledger.example",
                     published="2024-03-05T10:00:00", lang="en"),
            Document("z-wire", body, source="wire.example", published="2024-03-04T08:00:00", lang="en")]
    result = find_stories(docs)
    assert len(result.stories) == 1
    story = result.stories[0]
    assert story.origin == "z-wire" and story.first_published == "2024-03-04T08:00:00"
    assert story.sources == ("ledger.example", "wire.example")
    (link,) = list(link_records(result))
    assert link["kind"] == "copy" and link["score"] == 1.0
    assert link["direction"] == {"from": "z-wire", "to": "a-repost"}
    assert link["evidence"]["shared_passages"] >= 1
    json.dumps(link)  # JSON-ready


def test_records_are_json_ready():
    result = find_stories(seed_docs() + NEGATIVES)
    (rec,) = list(story_records(result))
    assert rec == {"story": 1, "members": [NL_SEED, DE_SEED], "size": 2, "languages": ["de", "nl"],
                   "sources": [], "first_published": None, "origin": None}
    json.dumps(list(link_records(result)))
    assert set(result.labels) == {d.id for d in seed_docs() + NEGATIVES}


@pytest.mark.parametrize("kwargs,name", [
    ({"threshold": 0}, "threshold"), ({"threshold": 1.5}, "threshold"), ({"min_shared": 0}, "min_shared"),
    ({"word_weight": -0.1}, "word_weight"), ({"far_penalty": 2}, "far_penalty"), ({"window_days": -1}, "window_days"),
    ({"max_df": 0}, "max_df"), ({"max_bucket": 1}, "max_bucket"), ({"copy_threshold": 0}, "copy_threshold"),
    ({"topic_max_dims": 1}, "topic_max_dims"), ({"min_shared": True}, "min_shared"),
    ({"season_penalty": 1.5}, "season_penalty"), ({"season_days": -1}, "season_days"),
    ({"topic_weight": -0.5}, "topic_weight"), ({"topic_dims": -1}, "topic_dims"), ({"word_link": 2}, "word_link"),
    ({"word_floor": -0.1}, "word_floor"), ({"topic_sample": 1}, "topic_sample"),
])
def test_parameter_errors_name_parameter_value_and_expectation(kwargs, name):
    with pytest.raises(ParameterError, match=rf"^{name}=.* is invalid: expected "):
        StoryParams(**kwargs)


# -- word vectors ---------------------------------------------------------------------------------------------


def _tfidf(texts: list[str], shuffle=None):
    """tfidf_rows of texts, with the terms numbered in first-appearance order (or in ``shuffle``'s order)."""
    term_id: dict[str, int] = {}
    rows = [word_ids(_word_counts(t), term_id) for t in (texts if shuffle is None else [texts[i] for i in shuffle])]
    if shuffle is not None:
        rows = [rows[shuffle.index(i)] for i in range(len(texts))]
    return tfidf_rows(rows, list(term_id))


def test_tfidf_rows_are_scikit_learns_tfidf_of_the_texts():
    """Rows built from word counts equal TfidfVectorizer's on the texts (to rounding: the L2 norm is summed in
    column order), with the same columns, so counting can happen in other processes or on Dask workers."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [d.text for d in NEGATIVES] + [d.text.upper() for d in NEGATIVES[:2]] + ["Straße straße STRASSE café"]
    headlined = ["\n".join([t.split("\n", 1)[0]] * HEADLINE_REPEAT + [t]) for t in texts]
    want = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode", max_df=0.5,
                           token_pattern=WORD_PATTERN).fit_transform(headlined).tocsr()
    want.sort_indices()
    got = _tfidf(texts)
    assert got.shape == want.shape
    assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
    assert np.allclose(got.data, want.data, rtol=0, atol=1e-12)
    assert _tfidf(["same words", "Same words!"]) is None  # all in more than half


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["ab", "cd", "ef", "gh", "ij", "kl", "mn"]), max_size=12),
                min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_tfidf_rows_do_not_depend_on_document_order(docs, rnd):
    """Neither the order of the documents nor the ids their terms got (first appearance) change a row."""
    texts = [" ".join(d) for d in docs]
    order = list(range(len(texts)))
    rnd.shuffle(order)
    a = _tfidf(texts)
    b = _tfidf([texts[i] for i in order])
    c = _tfidf(texts, shuffle=order)  # the same rows, terms numbered in another order
    assert (a is None) == (b is None) == (c is None)
    if a is not None:
        assert (a[order] != b).nnz == 0 and (a != c).nnz == 0  # bit for bit

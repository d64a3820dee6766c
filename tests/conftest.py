"""Shared fixtures for the command-line tests: a small multi-language news corpus and two ways to run ``dedup``.

The corpus (all fictional) holds

* a wire story in English syndicated by two other outlets (a triple, one cluster),
* a German agency story carried by a portal (a pair, one cluster),
* a French article and a lightly edited repost of it (a pair, one cluster),
* unrelated articles in Spanish, English, German, Russian and Italian (in no cluster),
* a long English feature and a short brief that is one of its paragraphs (found only with --containment),
* a record with an empty text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numba
import pytest
from typer.testing import CliRunner

from dedup.cli import app

REPO = Path(__file__).resolve().parent.parent
# dedup/cli.py has no ``if __name__ == "__main__"``: start the app explicitly.
DEDUP = [sys.executable, "-c", "from dedup.cli import app; app()"]

# -- the corpus ----------------------------------------------------------------------------------------------

_WIRE_EN = (
    "Dock workers at the port of Halvern walked off the job on Monday morning, halting the loading of container "
    "ships for the first time in eleven years.\n"
    "The strike was called by the Harbour and Transport Union after talks with the port authority over wages and "
    "night shift safety broke down late on Sunday.\n"
    "Union spokeswoman Marit Osen said members had rejected an offer of a three percent raise spread over two "
    "years, calling it far below the rise in living costs.\n"
    "The port authority said it regretted the walkout and remained open to further negotiations, but warned that "
    "every day of disruption would cost local businesses millions.\n"
    "About forty vessels were waiting outside the harbour by Monday evening, according to the regional shipping "
    "office, and several ferry routes were suspended until further notice."
)

_DE_AGENCY = (
    "Nach wochenlangen Verhandlungen hat der Stadtrat von Lindenau den Bau einer neuen Straßenbahnlinie zum "
    "Universitätsviertel beschlossen.\n"
    "Die Strecke soll knapp sieben Kilometer lang werden und zwölf Haltestellen erhalten, darunter zwei am neuen "
    "Klinikum.\n"
    "Oberbürgermeisterin Hanna Reuter sprach von einem guten Tag für die Stadt und kündigte an, dass die "
    "Bauarbeiten im kommenden Frühjahr beginnen sollen.\n"
    "Kritik kam von Anwohnern der Gartenstraße, die Lärm und den Verlust von Parkplätzen befürchten.\n"
    "Die Kosten werden auf rund 180 Millionen Euro geschätzt, von denen das Land etwa zwei Drittel übernehmen will."
)

_FR_ORIGINAL = (
    "La bibliothèque municipale de Saint-Aubin-des-Prés rouvrira ses portes samedi après deux ans de travaux de "
    "rénovation.\n"
    "Le bâtiment, construit en 1912, a été entièrement isolé et dispose désormais d'une salle de lecture pour les "
    "enfants et d'un espace numérique.\n"
    "Selon la directrice Claire Vasseur, plus de trente mille ouvrages ont été restaurés ou remplacés pendant la "
    "fermeture.\n"
    "Une fête d'inauguration est prévue à partir de dix heures avec des lectures, un concert de la chorale locale "
    "et une exposition de photographies anciennes.\n"
    "L'entrée sera gratuite pour tous les habitants pendant le premier mois."
)

# A few words changed, the rest reposted as is.
_FR_REPOST = (
    "La bibliothèque municipale de Saint-Aubin-des-Prés rouvrira enfin ses portes ce samedi après deux ans de "
    "travaux de rénovation.\n"
    "Le bâtiment, construit en 1912, a été entièrement isolé et dispose désormais d'une salle de lecture pour les "
    "enfants et d'un espace numérique.\n"
    "Selon sa directrice Claire Vasseur, plus de trente mille livres ont été restaurés ou remplacés pendant la "
    "fermeture.\n"
    "Une fête d'inauguration est prévue dès dix heures avec des lectures, un concert de la chorale locale "
    "et une exposition de photographies anciennes.\n"
    "L'entrée sera gratuite pour tous les habitants pendant le premier mois."
)

_BRIEF = (
    "Researchers at the Norrland Institute have found that a common garden beetle can survive for several weeks "
    "without food by slowing its heartbeat almost to a halt during cold nights."
)

_LONGREAD = (
    "Every autumn, the greenhouses of the Norrland Institute fill with visitors who come to see the collection of "
    "alpine plants gathered over half a century.\n"
    "Fewer of them know that the basement of the same building hosts one of the largest insect laboratories in "
    "the north, where a team of eight scientists studies how small animals cope with extreme climates.\n"
    + _BRIEF + "\n"
    "The team now hopes to find out whether the same mechanism protects the beetle against drought, a question "
    "that has become urgent as summers in the region grow longer and drier.\n"
    "Funding for the next three years has been secured from a private foundation, and the laboratory plans to "
    "open its doors to school classes once a month."
)

CORPUS: list[dict] = [
    {"id": "wire-en-001", "title": "Halvern dock workers strike over pay", "source": "Northern Wire",
     "published": "2024-05-13T06:00:00Z", "lang": "en", "url": "https://wire.example/halvern-strike",
     "text": "HALVERN (Northern Wire) -\n" + _WIRE_EN},
    {"id": "syn-en-dailypost", "title": "Port of Halvern at standstill as dockers strike",
     "source": "The Daily Post", "published": "2024-05-13T09:30:00Z", "lang": "en",
     "text": _WIRE_EN + "\nReporting by Northern Wire; editing by the Daily Post news desk."},
    {"id": "syn-en-coastal", "title": "Strike halts Halvern port", "source": "Coastal Times",
     "published": "2024-05-13T11:15:00+02:00", "lang": "en",
     "text": _WIRE_EN + "\nRead more: our full coverage of the Halvern port dispute."},
    {"id": "de-agentur-7781", "title": "Lindenau baut neue Straßenbahnlinie", "source": "Deutsche Nachrichtenagentur",
     "published": "2024-04-02T08:00:00Z", "lang": "de", "text": _DE_AGENCY},
    {"id": "de-portal-lindenau", "title": "Straßenbahn zum Universitätsviertel kommt", "source": "Lindenauer Portal",
     "published": "2024-04-02T10:45:00Z", "lang": "de",
     "text": _DE_AGENCY + "\n(dna) Alle Rechte vorbehalten."},
    {"id": "fr-original", "title": "La bibliothèque rouvre samedi", "source": "Le Courrier des Prés",
     "published": "2024-06-20T07:00:00Z", "lang": "fr", "text": _FR_ORIGINAL},
    {"id": "fr-repost", "title": "Réouverture de la bibliothèque", "source": "Info Prés",
     "published": "2024-06-21T16:20:00Z", "lang": "fr", "text": _FR_REPOST},
    {"id": "es-tiempo", "title": "Ola de calor en el sur", "source": "Diario del Valle",
     "published": "2024-07-08T05:00:00Z", "lang": "es",
     "text": "La agencia meteorológica ha activado la alerta naranja en cuatro provincias del sur por temperaturas "
             "que podrían superar los cuarenta y dos grados.\n"
             "Las autoridades recomiendan evitar la actividad física al aire libre entre el mediodía y las seis de "
             "la tarde y beber agua con frecuencia.\n"
             "Se espera que el episodio de calor se prolongue al menos hasta el jueves, cuando una masa de aire "
             "atlántico traerá un ligero descenso."},
    {"id": "en-football", "title": "Rovers snatch late win", "source": "Sports Desk",
     "published": "2024-03-10T21:00:00Z", "lang": "en",
     "text": "Kelby Rovers came from behind to beat Ashcombe United two goals to one in a dramatic finish at "
             "Millfield Park on Sunday.\n"
             "Ashcombe took the lead shortly before half time through a header from their captain, but the home "
             "side equalised from the penalty spot with fifteen minutes to play.\n"
             "The winner came deep into stoppage time, when substitute Jonah Pike curled a free kick into the top "
             "corner.\n"
             "The result lifts Rovers to third place in the table, two points behind the leaders."},
    {"id": "de-wissenschaft", "title": "Neuer Komet entdeckt", "source": "Wissenschaft Heute",
     "published": "2024-02-14T12:00:00Z", "lang": "de",
     "text": "Eine Amateurastronomin aus dem Allgäu hat einen bisher unbekannten Kometen entdeckt.\n"
             "Der Himmelskörper wurde auf Aufnahmen eines kleinen Teleskops gefunden, das sie vor drei Jahren in "
             "ihrem Garten aufgestellt hatte.\n"
             "Fachleute der Sternwarte in Hohenberg bestätigten die Entdeckung und rechnen damit, dass der Komet im "
             "Herbst mit einem Fernglas sichtbar sein wird."},
    {"id": "ru-kultura", "title": "Театр открывает новый сезон", "source": "Городские новости",
     "published": "2024-09-01T10:00:00Z", "lang": "ru",
     "text": "Городской драматический театр открывает новый сезон премьерой спектакля по пьесе молодого автора.\n"
             "Режиссёр постановки рассказал, что репетиции длились почти полгода и потребовали полной перестройки "
             "сцены.\n"
             "Билеты на первые показы уже распроданы, поэтому театр добавил два дополнительных вечера в октябре."},
    {"id": "it-economia", "title": "Il porto di Livenza cresce", "source": "Gazzetta del Mare",
     "published": "2024-01-22T09:00:00Z", "lang": "it",
     "text": "Il traffico merci del porto di Livenza è cresciuto del nove per cento nell'ultimo anno, trainato "
             "soprattutto dalle esportazioni di macchinari agricoli.\n"
             "Il presidente dell'autorità portuale ha annunciato un piano di investimenti per allungare le "
             "banchine e ridurre i tempi di attesa delle navi.\n"
             "I sindacati chiedono che una parte dei fondi venga destinata alla formazione dei lavoratori."},
    {"id": "en-longread", "title": "Inside the beetle lab", "source": "Science Weekly",
     "published": "2024-08-05T08:00:00Z", "lang": "en", "text": _LONGREAD},
    {"id": "en-brief", "title": "Beetles that slow their hearts", "source": "Morning Briefing",
     "published": "2024-08-06T06:00:00Z", "lang": "en", "text": _BRIEF},
    {"id": "empty-001", "title": "(no text)", "source": "Feed Import", "published": "2024-08-07T00:00:00Z",
     "lang": "en", "text": ""},
]


@dataclass(frozen=True)
class Corpus:
    """The fixture corpus on disk, with what a correct run must find in it."""

    path: Path
    records: list
    # Each group is one cluster, members in id order; the first-published member is the representative.
    clusters: tuple = (
        (("syn-en-coastal", "syn-en-dailypost", "wire-en-001"), "wire-en-001"),
        (("de-agentur-7781", "de-portal-lindenau"), "de-agentur-7781"),
        (("fr-original", "fr-repost"), "fr-original"),
    )
    unrelated: tuple = ("es-tiempo", "en-football", "de-wissenschaft", "ru-kultura", "it-economia")
    contained: tuple = ("en-brief", "en-longread")  # (short, long): the short one is a paragraph of the long one
    empty: str = "empty-001"

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.records]

    @property
    def by_id(self) -> dict:
        return {r["id"]: r for r in self.records}

    @property
    def kept_ids(self) -> list[str]:
        """Ids that --keep-first keeps with default parameters, in id order."""
        drop = {m for members, rep in self.clusters for m in members if m != rep}
        return sorted(i for i in self.ids if i not in drop)


def write_jsonl(path: Path, records: Sequence[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def corpus(tmp_path) -> Corpus:
    """The corpus as ``corpus.jsonl`` in a fresh temporary folder."""
    return Corpus(write_jsonl(tmp_path / "corpus.jsonl", CORPUS), [dict(r) for r in CORPUS])


# -- running the command -------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> Callable:
    """Run ``dedup ARGS`` in-process; the result has ``exit_code``, ``stdout`` and ``stderr`` apart."""
    runner = CliRunner()

    def invoke(*args, input: str | bytes | None = None, env: dict | None = None):
        env = {"COLUMNS": "200", **(env or {})}
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


@pytest.fixture
def run_dedup() -> Callable:
    """Run ``dedup ARGS`` in a real process (pipes, not a terminal); returns the CompletedProcess (bytes)."""

    def run(*args, input: bytes | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        full_env.update({"COLUMNS": "200", **(env or {})})
        return subprocess.run(DEDUP + [str(a) for a in args], input=input, capture_output=True, env=full_env,
                              cwd=cwd or REPO, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)

    return run


@pytest.fixture(scope="module")
def one_thread():
    """Property tests call the parallel kernels thousands of times on tiny inputs; with other
    processes on the machine each parallel launch can cost milliseconds. Results never depend
    on the thread count (test_shingle.py::test_results_do_not_depend_on_thread_count)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def run_and_kill_a_worker(client, job: Callable[[], object], stage: str, timeout: float = 60) -> object:
    """Run ``job()`` (a Dask job on ``client``) in a thread and SIGKILL one worker process once a task of
    ``stage`` (``dedup-<stage>-...`` keys) has finished and the job is still running; the worker's nanny
    starts a new one. Returns what ``job`` returned; fails if the job ended before the kill."""
    import signal
    import threading
    import time

    def finished(dask_scheduler) -> int:
        return sum(1 for key, ts in dask_scheduler.tasks.items()
                   if f"dedup-{stage}-" in str(key) and ts.state == "memory")

    found, errors = {}, []

    def run() -> None:
        try:
            found["result"] = job()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(finished) < 1 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert thread.is_alive(), "the job ended before the worker could be killed"
    os.kill(min(client.run(os.getpid).values()), signal.SIGKILL)
    thread.join(2 * timeout)
    assert not errors, errors
    client.wait_for_workers(2, timeout=timeout)
    return found["result"]


def assert_same_warnings_on_dask(cli, command: str, inputs: Sequence[str], out: Path, address: str,
                                 partition_size: str) -> str:
    """``dedup COMMAND INPUTS`` locally (into ``out/local``) and on the Dask scheduler at ``address`` (into
    ``out/dask``): both succeed and warn the same lines, in any order, among them a duplicate id and a bad
    line; then ``--strict`` on the first input fails alike. Returns the warnings."""
    local = cli(command, *inputs, "--out", out / "local")
    remote = cli(command, *inputs, "--out", out / "dask", "--engine", "dask", "--scheduler", address,
                 "--partition-size", partition_size)
    assert local.exit_code == remote.exit_code == 0, remote.stderr
    assert sorted(remote.stderr.splitlines()) == sorted(local.stderr.splitlines())
    assert "duplicate id" in remote.stderr and "invalid JSON" in remote.stderr
    strict = cli(command, inputs[0], "--out", out / "strict", "--strict", "--engine", "dask", "--scheduler", address)
    assert strict.exit_code == 1
    assert strict.stderr == cli(command, inputs[0], "--out", out / "strict", "--strict").stderr
    return remote.stderr


def run_with_little_memory(job: Callable[[object], object], limit: int = 600 * 2**20) -> tuple[object, int, int]:
    """Run ``job(client)`` on two worker processes that may each keep 0.5% of ``limit`` of results in memory
    (most of the process goes to the interpreter and the libraries) and must spill the rest to disk.
    Returns what ``job`` returned, the peak resident bytes of a worker process and the peak bytes spilled."""
    import logging
    import threading
    import time

    import dask
    import distributed
    import psutil

    def memory(dask_worker) -> tuple[int, int]:
        return psutil.Process().memory_info().rss, dask_worker.data.spilled_total.disk

    settings = {"distributed.worker.memory.target": 0.005, "distributed.worker.memory.spill": 0.7,
                "distributed.worker.memory.pause": 0.85}
    with dask.config.set(settings), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=limit,
            silence_logs=logging.CRITICAL) as cluster, distributed.Client(cluster) as client:
        peak_rss, peak_spilled = [0], [0]
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                for rss, spilled in client.run(memory).values():
                    peak_rss[0], peak_spilled[0] = max(peak_rss[0], rss), max(peak_spilled[0], spilled)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            result = job(client)
        finally:
            stop.set()
            watcher.join()
    return result, peak_rss[0], peak_spilled[0]

"""dedup: near-duplicate and syndication detection for news and web text.

    >>> import dedup
    >>> docs, stats = dedup.read_all(["examples/corpus.jsonl"])
    >>> result = dedup.find(docs, dedup.Config(match=dedup.MatchParams(threshold=0.5)))
    >>> dedup.write_report(result, "out/")
"""

import os as _os

# numba's OpenMP threads otherwise spin between parallel calls, which makes every small
# call (one query, one incoming article) cost milliseconds on a busy machine.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .document import Document, Problem  # noqa: E402
from .errors import DedupError, IncompatibleSignatures, InputError, ParameterError
from .explain import Explanation, explain
from .minhash import SignatureSpec, from_datasketch, to_datasketch
from .normalize import normalize
from .params import (ClusterParams, Config, LSHParams, MatchParams, MinHashParams, NormalizeParams, ReadParams,
                     RepeatParams, ShingleParams)
from .index import Index
from .index_sqlite import IndexFileError
from .pipeline import Cluster, Result, find, find_repeats
from .repeats import DocumentRepeats, Repeat
from .read import ReadStats, read_all, read_documents
from .report import write_cleaned, write_kept, write_repeats, write_report
from .shingle import datasketch_hashfunc, shingle_strings

__version__ = "0.1.0"

__all__ = [
    "Cluster",
    "ClusterParams",
    "Config",
    "DedupError",
    "Document",
    "DocumentRepeats",
    "Explanation",
    "IncompatibleSignatures",
    "Index",
    "IndexFileError",
    "InputError",
    "LSHParams",
    "MatchParams",
    "MinHashParams",
    "NormalizeParams",
    "ParameterError",
    "Problem",
    "ReadParams",
    "ReadStats",
    "Repeat",
    "RepeatParams",
    "Result",
    "ShingleParams",
    "SignatureSpec",
    "datasketch_hashfunc",
    "explain",
    "find",
    "find_repeats",
    "from_datasketch",
    "normalize",
    "read_all",
    "read_documents",
    "shingle_strings",
    "to_datasketch",
    "write_cleaned",
    "write_kept",
    "write_repeats",
    "write_report",
]

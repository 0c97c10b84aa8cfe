"""Certified near-duplicate detection and retrieval over collections of images (docs/retrieval.md).

:class:`Index` stores unit embeddings with ids and the weights' sha256, searches them exactly (or with faiss
candidates re-ranked exactly) and certifies its answers; :func:`find_duplicates` finds and labels all pairs
under a threshold; :func:`embed_files` embeds folders once, through a content-hash cache, under torchrun too.
"""

from .cache import EmbeddingCache
from .certify import CERTIFIED_DIFFERENT, CERTIFIED_SAME, DIFFERENT, LABELS, SAME, PairCertificates, certify_pairs
from .collect import FileEmbeddings, embed_files, list_images
from .duplicates import Duplicates, find_duplicates
from .fingerprint import weights_sha256
from .index import Index, Neighbour, SearchResult, resolve_threshold
from .shards import Shard, shard_from_env
from .store import StoredEmbeddings

__all__ = [
    "CERTIFIED_DIFFERENT",
    "CERTIFIED_SAME",
    "DIFFERENT",
    "Duplicates",
    "EmbeddingCache",
    "FileEmbeddings",
    "Index",
    "LABELS",
    "Neighbour",
    "PairCertificates",
    "SAME",
    "SearchResult",
    "Shard",
    "StoredEmbeddings",
    "certify_pairs",
    "embed_files",
    "find_duplicates",
    "list_images",
    "resolve_threshold",
    "shard_from_env",
    "weights_sha256",
]

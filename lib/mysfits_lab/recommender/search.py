"""Exact k-nearest-neighbour search that answers what a faiss ``IndexFlat`` (L2) answers, without
comparing every query with every vector.

A flat index compares each query with all N vectors; on the questionnaire data (22,843 distinct
vectors, 22,808 distinct test queries) that is half a billion distances, seconds of work. Here
the vectors are split into Voronoi cells around k-means centroids (a faiss ``IndexIVFFlat``
holding the same vectors under the same ids), and each query scans only the cells that can
hold one of its k nearest vectors:

1. A vector of cell ``c`` is on ``c``'s side of the bisector between ``c`` and the query's own
   cell ``c0``, so it is at least ``(|q-c|² - |q-c0|²) / (2 |c-c0|)`` from the query: a lower
   bound for every cell.
2. Scan the ``PROBE`` cells with the lowest bounds; the k-th distance found, ``r``, bounds the
   true k-th distance from above. Every cell whose bound is within ``√r`` is needed; a query
   whose needed cells were all scanned is done, the others scan the needed cells they missed
   and keep the k nearest of both scans.
3. Ties: the flat index keeps, among vectors at equal distance, the lowest ids. A scan keeps
   ``k + TIE_MARGIN`` candidates; when the last one is farther than the k-th, every vector as
   close as the k-th is among them, and sorting them by (distance, id) gives the flat answer.
   Otherwise the query scans its needed cells again, keeping more candidates.

Distances are faiss's own (the same float32 kernel as the flat index); the bounds are computed
in float64 with a slack far above their rounding error, so a doubtful cell is scanned, never
skipped. The structure is rebuilt from the index when a model loads; the artifact is unchanged.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import faiss
import numpy as np

# Below this many vectors a flat scan is as fast; above this dimension the cells stop pruning.
MIN_VECTORS = 2048
MAX_DIM = 16
PROBE = 8  # cells scanned first
MAX_CELLS = 1024  # about the square root of the vector count, up to this
TIE_MARGIN = 32  # candidates kept beyond k, so that ties at the k-th distance are all seen
# Queries per pass, so that a (queries x cells) float64 array stays under 32 MB.
CHUNK_CELLS = 1 << 22
# Relative slack on distances: float32 distances are exact to ~1e-6, the bounds to ~1e-12.
SLACK = 1e-4


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """faiss on the calling thread only (OpenMP's thread count is per thread): the cloud serves
    requests on many threads, and OpenMP workers waking up for one query cost milliseconds on
    a busy machine."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def flat_vectors(index: faiss.Index) -> np.ndarray:
    return index.reconstruct_n(0, index.ntotal)


class CellSearch:
    """Exact k-NN over a flat L2 index's vectors; ``search`` answers as ``index.search`` does."""

    def __init__(self, index: faiss.Index, seed: int = 0):
        vectors = flat_vectors(index)
        self.index = index
        count, dim = vectors.shape
        self.count = count
        self.cells = int(min(MAX_CELLS, max(16, round(math.sqrt(count)))))
        self.chunk = max(256, min(8192, CHUNK_CELLS // self.cells))
        with single_threaded():
            kmeans = faiss.Kmeans(dim, self.cells, niter=10, seed=seed, spherical=False)
            kmeans.train(vectors)
        centroids = np.asarray(kmeans.centroids, dtype=np.float64)
        # Centred float64 arithmetic for every bound: assignment and query distances alike.
        self.centre = vectors.mean(axis=0, dtype=np.float64)
        self.centroids = centroids - self.centre
        self.centroid_norms = (self.centroids**2).sum(axis=1)
        spread = float(np.sqrt(((vectors - self.centre) ** 2).sum(axis=1).max()))
        self.absolute_slack = SLACK * max(spread, 1e-30)
        between = np.sqrt(
            np.maximum(
                self.centroid_norms[:, None]
                + self.centroid_norms[None, :]
                - 2 * self.centroids @ self.centroids.T,
                0.0,
            )
        )
        # Cells whose centroids (nearly) coincide give no usable bound: always scan them.
        self.between = np.where(between > 1e-3 * max(spread, 1e-30), between, 0.0)
        assignment = np.concatenate(
            [
                self._centroid_distances(vectors[start : start + self.chunk]).argmin(axis=1)
                for start in range(0, count, self.chunk)
            ]
        ).astype(np.int64)
        self.quantizer = faiss.IndexFlatL2(dim)
        self.quantizer.add(np.ascontiguousarray(kmeans.centroids, dtype=np.float32))
        self.cell_index = faiss.IndexIVFFlat(self.quantizer, dim, self.cells, faiss.METRIC_L2)
        ids = np.arange(count, dtype=np.int64)
        with single_threaded():
            self.cell_index.add_core(
                count, faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(assignment)
            )

    @staticmethod
    def applies(index: faiss.Index) -> bool:
        return (
            type(index) in (faiss.IndexFlat, faiss.IndexFlatL2)
            and index.metric_type == faiss.METRIC_L2
            and index.d <= MAX_DIM
            and index.ntotal >= MIN_VECTORS
        )

    def _centroid_distances(self, points: np.ndarray) -> np.ndarray:
        centred = np.asarray(points, dtype=np.float64) - self.centre
        squared = (
            (centred**2).sum(axis=1)[:, None]
            + self.centroid_norms[None, :]
            - 2 * centred @ self.centroids.T
        )
        return np.maximum(squared, 0.0)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(squared distances, ids), each (n, k), ordered by (distance, id) as faiss's flat
        search orders them; ``k`` is at most the number of vectors."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        distances = np.empty((len(queries), k), dtype=np.float32)
        ids = np.empty((len(queries), k), dtype=np.int64)
        with single_threaded():
            for start in range(0, len(queries), self.chunk):
                chunk = slice(start, start + self.chunk)
                distances[chunk], ids[chunk] = self._search(queries[chunk], k)
        return distances, ids

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(queries)
        to_cells = self._centroid_distances(queries)
        rows = np.arange(n)
        own = to_cells.argmin(axis=1)
        between = self.between[own]
        lower = np.divide(
            to_cells - to_cells[rows, own][:, None],
            2 * between,
            out=np.zeros_like(to_cells),
            where=between > 0,
        )
        # First the cells most likely to be needed: those with the lowest bounds.
        probe = min(PROBE, self.cells)
        nearest = np.argpartition(lower, probe - 1, axis=1)[:, :probe]
        keep = min(self.count, k + TIE_MARGIN)
        found_d, found_i = self._scan(queries, keep, nearest, to_cells)
        # Every vector within the k-th distance found lies in a needed cell.
        kth = np.where(found_i[:, k - 1] >= 0, found_d[:, k - 1].astype(np.float64), np.inf)
        reach = np.sqrt(kth) * (1 + SLACK) + self.absolute_slack
        needed = lower <= reach[:, None]
        missing = needed.copy()
        missing[rows[:, None], nearest] = False
        out_d, out_i = _first(found_d, found_i, k)
        tied = ~_ties_seen(found_d, found_i, k)
        # Rows that kept all their ties but left needed cells unscanned scan just those cells;
        # the k nearest are among the candidates of both scans.
        more = np.flatnonzero(missing.any(axis=1) & ~tied)
        if len(more):
            extra_d, extra_i = self._scan(
                queries[more], keep, _padded_cells(missing[more]), to_cells[more]
            )
            out_d[more], out_i[more] = _first(
                np.concatenate([found_d[more], extra_d], axis=1),
                np.concatenate([found_i[more], extra_i], axis=1),
                k,
            )
            tied[more] = ~_ties_seen(extra_d, extra_i, k)
        # Rows whose ties were cut off scan all their needed cells again, keeping more.
        width = keep
        redo = tied
        while redo.any() and width < self.count:
            width = min(self.count, width * 4)
            again = np.flatnonzero(redo)
            cells = _padded_cells(needed[again])
            more_d, more_i = self._scan(queries[again], width, cells, to_cells[again])
            out_d[again], out_i[again] = _first(more_d, more_i, k)
            redo = np.zeros(n, dtype=bool)
            redo[again[~_ties_seen(more_d, more_i, k)]] = True
        return out_d, out_i

    def _scan(
        self, queries: np.ndarray, keep: int, cells: np.ndarray, to_cells: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``keep`` nearest among the vectors of each query's ``cells`` (-1: none)."""
        cells = np.ascontiguousarray(cells, dtype=np.int64)
        coarse = np.take_along_axis(to_cells, np.maximum(cells, 0), axis=1).astype(np.float32)
        n = len(queries)
        distances = np.empty((n, keep), dtype=np.float32)
        ids = np.empty((n, keep), dtype=np.int64)
        # The number of cells per query travels in the call's parameters, not in the shared
        # index (other threads search it at the same time).
        params = faiss.SearchParametersIVF(nprobe=cells.shape[1])
        self.cell_index.search_preassigned_c(
            n,
            faiss.swig_ptr(queries),
            keep,
            faiss.swig_ptr(cells),
            faiss.swig_ptr(np.ascontiguousarray(coarse)),
            faiss.swig_ptr(distances),
            faiss.swig_ptr(ids),
            False,
            params,
        )
        return distances, ids


def _ties_seen(distances: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Whether every candidate as close as the k-th was kept: the last kept one is farther, or
    fewer than the number kept were found at all."""
    last = distances.shape[1] - 1
    return (ids[:, last] < 0) | (distances[:, last] > distances[:, k - 1])


def _first(distances: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k candidates by (distance, id): the flat index's order, ties to lower ids.
    faiss returns its candidates in that order already; only other rows are sorted."""
    later_d, earlier_d = distances[:, 1:], distances[:, :-1]
    ordered = (later_d > earlier_d) | ((later_d == earlier_d) & (ids[:, 1:] > ids[:, :-1]))
    unsorted = np.flatnonzero(~ordered.all(axis=1))
    if len(unsorted):
        distances, ids = distances.copy(), ids.copy()
        order = np.lexsort((ids[unsorted], distances[unsorted]), axis=1)
        distances[unsorted] = np.take_along_axis(distances[unsorted], order, axis=1)
        ids[unsorted] = np.take_along_axis(ids[unsorted], order, axis=1)
    return distances[:, :k], ids[:, :k]


def _padded_cells(needed: np.ndarray) -> np.ndarray:
    """Each row's needed cells, padded with -1 (which faiss skips) to one width."""
    counts = needed.sum(axis=1)
    width = max(1, int(counts.max()))
    cells = np.full((len(needed), width), -1, dtype=np.int64)
    row, column = np.nonzero(needed)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    cells[row, slot] = column
    return cells

"""Cluster stage: stars around canonical stories, so that similarity never chains.

Stories are taken in canonical-preference order (``rank``): most complete first (most shingles
after cleaning), then earliest published, then smallest id. A story not yet in a cluster opens
one and becomes its canonical; every story that *itself* matches that canonical (a verified
pair, ``dedup.stages.verify``) and is not yet taken joins it. So A~B and B~C never pull C into A's
cluster unless C matches A's canonical too: one generic sentence shared by two stories cannot
merge two clusters.

Canonicals are chosen as above, but a member then joins the canonical it matches *best*
(``best_canonical``), not the best-ranked one that claimed it first: a near-exact copy of X that
also passes containment against a related canonical Y belongs to X. Still a star: every member
matches its own canonical, and canonicals stay canonicals.

Versions of one report (an update with a new top, a correction appended) can each become a
canonical, with the short copies of their shared paragraphs split between them: a cluster whose
members all match another canonical, and whose canonical is mostly contained in it, joins it
(``merge_versions``).

A second, "rescue" pass handles copies that match a member but fell just short against the
canonical (a truncated *and* edited copy): a story left alone joins the cluster of a matching
member when its containment in that cluster's canonical is at least ``rescue_containment``.
"""
from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def preference_rank(n_shingles: np.ndarray, published_ns: np.ndarray, story_ids: np.ndarray) -> np.ndarray:
    """rank[i] = position of story i in canonical-preference order (0 = first choice).

    ``published_ns`` holds int64 nanoseconds with missing dates as int64 max (they sort last).
    """
    t = pa.table({"s": pa.array(-n_shingles.astype(np.int64)), "p": pa.array(published_ns, pa.int64()),
                  "i": pa.array(story_ids, pa.string()) if not isinstance(story_ids, pa.Array) else story_ids})
    order = pc.sort_indices(t, sort_keys=[("s", "ascending"), ("p", "ascending"), ("i", "ascending")]).to_numpy()
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return rank


@numba.njit(cache=True)
def _star(n, rank_order, indptr, indices, fixed):
    label = np.full(n, -1, dtype=np.int64)
    for s in rank_order:
        if label[s] >= 0:
            continue
        label[s] = s
        for k in range(indptr[s], indptr[s + 1]):
            t = indices[k]
            if label[t] < 0 and not fixed[t]:
                label[t] = s
    return label


def star_clusters(
    n: int, rank: np.ndarray, left: np.ndarray, right: np.ndarray, fixed: np.ndarray | None = None
) -> np.ndarray:
    """label[i] = row of the canonical of story i's cluster. Edges are verified matches.

    ``fixed`` rows (earlier nights' canonicals) always head their own cluster: two clusters
    that already have ids are never merged after the fact.
    """
    if fixed is None:
        fixed = np.zeros(n, dtype=bool)
    a = np.concatenate([left, right])
    b = np.concatenate([right, left])
    order = np.argsort(a, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    rank_order = np.argsort(rank, kind="stable").astype(np.int64)
    return _star(n, rank_order, indptr, b[order].astype(np.int64), fixed)


def best_canonical(
    label: np.ndarray,
    rank: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    jaccard: np.ndarray,
    containment: np.ndarray,
    threshold: float,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Move every member to the canonical it matches best; canonicals are left as they are.

    ``label`` int64 (n,) from ``star_clusters`` (a canonical is its own label); ``rank`` int64
    (n,) preference order; ``left``, ``right`` int64 rows of the verified matches with their
    float64 ``jaccard`` and ``containment``. Best: an earlier night's canonical (``fixed`` rows, as
    in ``star_clusters``: a late copy keeps the id its report already has) before tonight's; then
    a resemblance match (Jaccard >= ``threshold``,
    an edited copy) before a containment one; among resemblance matches the highest Jaccard, among
    containment matches the highest containment then Jaccard (the tightest container: the page
    most about the copy); then the better-ranked canonical. A containment match counts only where
    the canonical is the better-ranked of the two (or an earlier night's): a member that holds a
    whole shorter canonical (a report holding a teaser that nothing claimed) is that canonical's
    container, and stays with the canonical that holds it. Returns the new labels.

    The Spark engine's member step (``dedup.night.spark.graph.canonicals``, ``best``) must order by the
    same key instead of taking the smallest canonical node: (g, not resemblance, -primary, -jaccard, node),
    over the same matches (resemblance, an earlier night's canonical, or a better-ranked one).
    """
    n = label.shape[0]
    canon = label == np.arange(n)
    a = np.concatenate([left, right])
    b = np.concatenate([right, left])
    jac = np.concatenate([jaccard, jaccard])
    con = np.concatenate([containment, containment])
    # A containment match counts only towards a better-ranked canonical (or an earlier night's):
    # a member holding all of a shorter canonical is its container, not a copy of it.
    pick = ~canon[a] & canon[b] & ((jac >= threshold) | (rank[b] < rank[a])
                                   | (False if fixed is None else fixed[b]))
    a, b, jac, con = a[pick], b[pick], jac[pick], con[pick]
    if a.size == 0:
        return label
    resemble = jac >= threshold
    primary = np.where(resemble, jac, con)
    later = np.zeros(a.shape[0], bool) if fixed is None else ~fixed[b]
    order = np.lexsort((rank[b], -jac, -primary, ~resemble, later, a))
    first = np.ones(order.shape[0], bool)
    first[1:] = a[order][1:] != a[order][:-1]
    out = label.copy()
    out[a[order][first]] = b[order][first]
    return out


def merge_versions(
    label: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    jaccard: np.ndarray,
    threshold: float,
    containment_to: "callable",
    min_containment: float,
    fixed: np.ndarray,
) -> np.ndarray:
    """Join a cluster to the canonical it is a version of (see the module docstring).

    An update with a new top and a correction of the same report each become canonicals: neither
    holds the other (their containment is under ``dedup.containment_threshold``), and the short
    copies of the report's shared paragraphs match both, so each canonical keeps some of them. A
    cluster B (its canonical not an earlier night's, ``fixed``) joins the canonical A when every
    member of B resembles B (Jaccard >= ``threshold``: copies of B, not parts that B merely
    contains, as a live blog contains the ledes it quotes) and also matches A, and at least
    ``min_containment`` (``dedup.rescue_containment``) of B's canonical is contained in A: B's
    canonical and A share the report, and nothing in B is about anything else. Among several such
    A: the highest containment, then the first row. A canonical that joins another cannot take a
    cluster in the same step (no chains).

    ``left``, ``right`` int64: rows of the verified matches, with their float64 ``jaccard``;
    ``containment_to(s, c)``: containment of rows s in rows c (float64 arrays). Returns the new
    labels. The Spark engine's step is ``dedup.night.spark.graph.merge_versions``."""
    n = label.shape[0]
    canon = label == np.arange(n)
    a = np.concatenate([left, right])
    b = np.concatenate([right, left])
    jac = np.concatenate([jaccard, jaccard])
    # Clusters with a member that is no copy of its canonical (a containment match to it) stay.
    own = ~canon[a] & (label[a] == b)
    not_copy = np.zeros(n, bool)
    not_copy[label[a[own & (jac < threshold)]]] = True
    pick = ~canon[a] & canon[b] & (label[a] != b) & ~fixed[label[a]] & ~not_copy[label[a]]
    m, A = a[pick], b[pick]
    if m.size == 0:
        return label
    # Distinct (B, A, member) triples, then members per (B, A), with (B, A) as one int64 key.
    ba = label[m].astype(np.int64) * n + A
    order = np.lexsort((m, ba))
    ba, m = ba[order], m[order]
    ba = ba[np.r_[True, (ba[1:] != ba[:-1]) | (m[1:] != m[:-1])]]
    ba, k = np.unique(ba, return_counts=True)
    Bs, As = ba // n, ba % n
    size = np.bincount(label, minlength=n)
    full = k == size[Bs] - 1
    Bs, As = Bs[full], As[full]
    if not Bs.size:
        return label
    Bs, As = _best_container(Bs, As, containment_to, min_containment)
    keep = ~np.isin(As, Bs)
    Bs, As = Bs[keep], As[keep]
    out = label.copy()
    to = np.arange(n)
    to[Bs] = As
    moved = np.isin(label, Bs)
    out[moved] = to[label[moved]]
    return out


def rescue(
    label: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    match: np.ndarray,
    containment_to: "callable",
    min_containment: float,
    movable: np.ndarray | None = None,
    container: np.ndarray | None = None,
    container_right: np.ndarray | None = None,
) -> np.ndarray:
    """Let stories left alone join the cluster of a member they match (see module docstring).

    ``containment_to(s, c)`` returns the containment of story s in story c (arrays).
    ``container`` (bool, one per match): the match is a containment match whose *left* story is
    the longer one, the container; with ``container_right`` the same for the right story (both
    derived by ``containers``). A story left alone is never rescued through a match in which it is
    the container: a live blog or roundup that holds a member's whole text is not an edited copy
    of that report, and its text about other reports stays out of the cluster.
    """
    sizes = np.bincount(label, minlength=label.shape[0])
    alone = sizes[label] == 1
    if movable is not None:
        alone &= movable
    a = np.concatenate([left[match], right[match]])
    b = np.concatenate([right[match], left[match]])
    pick = alone[a] & ~alone[b]
    if container is not None:
        pick &= ~np.concatenate([container[match], container_right[match]])
    s, c = a[pick], label[b[pick]]
    if s.size == 0:
        return label
    s, c = _best_container(s, c, containment_to, min_containment)
    out = label.copy()
    out[s] = c
    return out


def _best_container(s: np.ndarray, c: np.ndarray, containment_to: "callable",
                    min_containment: float) -> tuple[np.ndarray, np.ndarray]:
    """(s, c) row pairs -> per s the c holding at least ``min_containment`` of it: the highest
    containment, then the first row c (``rescue`` and ``merge_versions``; the Spark engine's
    ``graph._best_container``). Returns (s, c), one pair per s."""
    con = containment_to(s, c)
    ok = con >= min_containment
    s, c, con = s[ok], c[ok], con[ok]
    order = np.lexsort((c, -con, s))
    first = np.ones(order.shape[0], bool)
    first[1:] = s[order][1:] != s[order][:-1]
    return s[order][first], c[order][first]


def containers(n_shingles: np.ndarray, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray,
                threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For each match (``left``, ``right`` rows, float64 ``jaccard``): whether it is a containment
    match (Jaccard under ``threshold``) in which the left story, resp. the right one, is the
    container (strictly more shingles). Returns two bool arrays for ``rescue``."""
    contained = jaccard < threshold
    nl, nr = n_shingles[left], n_shingles[right]
    return contained & (nl > nr), contained & (nr > nl)


def member_scores(inter: np.ndarray, size: np.ndarray, canonical_size: np.ndarray, is_canonical: np.ndarray,
                  same_text: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each member's ``similarity``, ``containment`` and ``relation`` to its canonical.

    Inputs are per member, shape (n,): ``inter`` = |S ∩ C| of the shingle sets, ``size`` = |S|,
    ``canonical_size`` = |C|, ``is_canonical`` (bool), ``same_text`` (bool: equal normalized token
    sequences). Returns float64 Jaccard |S∩C|/|S∪C|, float64 containment |S∩C|/min(|S|,|C|) (1.0
    for empty sets), and the relation (object array of str): ``canonical``, ``exact``, ``near``
    (Jaccard >= ``threshold``), else ``truncated`` (|S| <= |C|) or ``extended``.
    """
    union = size + canonical_size - inter
    sim = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    small = np.minimum(size, canonical_size)
    con = np.where(small > 0, inter / np.maximum(small, 1), 1.0)
    relation = np.where(
        is_canonical, "canonical",
        np.where(same_text, "exact",
                 np.where(sim >= threshold, "near", np.where(size <= canonical_size, "truncated", "extended"))),
    )
    return sim, con, relation

"""Social graphs to seed: the socfb-Reed98 edge list and synthetic power-law graphs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

CELEBRITY_THRESHOLD = 10_000  # the feed service's default fanout threshold (docs/design.md)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Graph:
    """`n` users numbered 0..n-1 and directed follows (follower, followee), sorted, no duplicates."""

    n: int
    follows: IntArray  # shape (m, 2): follower index, followee index

    @property
    def follower_counts(self) -> IntArray:
        return np.bincount(self.follows[:, 1], minlength=self.n).astype(np.int64)

    @property
    def following_counts(self) -> IntArray:
        return np.bincount(self.follows[:, 0], minlength=self.n).astype(np.int64)

    def summary(self) -> dict[str, float | int]:
        followers = self.follower_counts
        return {
            "users": self.n,
            "follows": int(self.follows.shape[0]),
            "followers_max": int(followers.max()) if self.n else 0,
            "followers_median": float(np.median(followers)) if self.n else 0.0,
            "followers_p99": float(np.percentile(followers, 99)) if self.n else 0.0,
            "celebrities": int((followers > CELEBRITY_THRESHOLD).sum()),
        }


def _unique_pairs(pairs: IntArray) -> IntArray:
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if pairs.size == 0:
        return pairs.reshape(0, 2)
    return np.unique(pairs, axis=0)


def read_edge_list(path: Path) -> Graph:
    """An undirected edge list: `.edges` (0-based `u v` lines) or `.mtx` (header `rows cols nnz`, 1-based).

    As DeathStarBench's loader does, every undirected edge becomes two follows, u->v and v->u.
    """
    lines = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("%")]
    if not lines:
        raise ValueError(f"{path} holds no edges")
    one_based = path.suffix == ".mtx"
    if one_based and len(lines[0]) == 3:
        lines = lines[1:]
    edges = np.array([(int(a), int(b)) for a, b, *_ in lines], dtype=np.int64)
    if one_based:
        edges -= 1
    if edges.min() < 0:
        raise ValueError(f"{path}: negative vertex id (is it 1-based? name it .mtx)")
    n = int(edges.max()) + 1
    nodes_file = path.with_suffix(".nodes")
    if nodes_file.exists():
        n = max(n, int(nodes_file.read_text().split()[0]))
    both = np.concatenate([edges, edges[:, ::-1]])
    return Graph(n=n, follows=_unique_pairs(both))


def powerlaw_graph(n: int, *, mean_following: float, seed: int, zipf_exponent: float = 1.0) -> Graph:
    """Heavy-tailed follower counts: followees drawn by Zipf popularity (rank^-s).

    Each user follows a geometric number of accounts (mean `mean_following`); whom they follow
    is drawn with probability proportional to rank^-s over a random ranking of all users, so a
    few accounts gather a large share of follows (with s=1 and 1M users, a few dozen above the
    10,000-follower celebrity threshold), most have a handful.
    """
    rng = np.random.default_rng(seed)
    if n < 2:
        return Graph(n=n, follows=np.zeros((0, 2), dtype=np.int64))
    out_degree = np.minimum(rng.geometric(1.0 / max(mean_following, 1.0), size=n), n - 1).astype(np.int64)
    total = int(out_degree.sum())
    weights = np.arange(1, n + 1, dtype=np.float64) ** -zipf_exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(total), side="right")
    ranking = rng.permutation(n)  # rank r -> user ranking[r]
    followees = ranking[np.minimum(ranks, n - 1)]
    followers = np.repeat(np.arange(n, dtype=np.int64), out_degree)
    return Graph(n=n, follows=_unique_pairs(np.stack([followers, followees], axis=1)))

"""Two-component mixture of per-cell CAR UMI counts: ambient only, or CAR-expressing.

Model, for a T/NK cell i with library size L_i (UMIs of all other features):
  ambient only:    k_i ~ Poisson(a * L_i)
  CAR-expressing:  k_i ~ NegBin(mean b * L_i, shape r) + Poisson(a * L_i)
with the weight `pi` (share of T/NK cells that are CAR T), the CAR rate `b`, the
shape `r` and the ambient rate `a` fitted per sample by EM. `a` is also held by the
cells that cannot be CAR T (non-lymphoid: pure ambient) and by a prior
(`AmbientPrior`, built in `calling.ambient_prior`); where those are few (a sorted
CD3+CAR+ sample) the non-CAR T cells inform it too, and the interval of `pi` carries
its uncertainty. A log-normal prior on `r` keeps samples with few CAR T cells near the
shape of real data. A CAR T cell also catches soup: its count is the exact
convolution of its own NB and the ambient Poisson (`log_car`).

Why a hand-written EM: scikit-learn's mixtures are Gaussian; statsmodels' count models
with exposure (ZeroInflatedPoisson, ZeroInflatedNegativeBinomialP) pair a count
component with structural zeros, not with a second count component whose rate is
shared with other cells and scaled by each cell's library size. No library fits this
model, which is small enough to write out.

Cells are grouped by (CAR UMIs, library-size bin) for the fit, so EM and the profile
likelihood cost the same for 500 or 50,000 cells; posteriors use each cell's own size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import expit, gammaln, pdtrik
from scipy.stats import chi2

#: Library-size bins of the grouped fit: within a bin sizes differ by a few percent,
#: far less than the NB spread of CAR UMIs, so grouping does not move the fit.
LIBRARY_BINS = 48
#: EM stops when the log-likelihood gains less than this (nats) or after MAX_ITER
#: steps; a joint maximisation from there finishes the fit (`_polish`): EM crawls
#: where pi is near 0 or 1, and the interval needs the exact maximum.
EM_TOL = 1e-3
EM_MAX_ITER = 100
#: Starting weights of EM: the fit from the start with the best likelihood is kept
#: (a two-component mixture can stop on a local optimum from one start).
EM_STARTS = (0.1, 0.9)
#: EM keeps pi this far inside (0, 1), where log(pi) and log(1 - pi) are finite.
PI_EDGE = 1e-12
#: Physical bounds of the CAR rate b (CAR UMIs per library UMI): at 1e-9 a CAR T cell
#: of 10^5 UMIs expects 1e-4 CAR UMIs (undetectable); at 1 every UMI is CAR.
LOG_RATE_BOUNDS = (np.log(1e-9), 0.0)
#: Bounds of log shape r: 0.01 (extremely overdispersed) to 1e4 (Poisson in practice).
LOG_SHAPE_BOUNDS = (np.log(1e-2), np.log(1e4))
#: The ambient counts of a CAR T cell are summed up to the count whose Poisson upper
#: tail is below this (`log_car`): far below any probability the calls use.
AMBIENT_TAIL = 1e-12
#: Search of the upper end of the ambient rate's interval (`upper_ambient_fit`):
#: steps of 0.5 in log a out of the interval, then 4 bisections (the end to within
#: 0.03 in log a, 3%: a cell's posterior barely changes within that).
PROFILE_STEP = 0.5
PROFILE_BISECTIONS = 4


@dataclass(frozen=True)
class ShapePrior:
    """Log-normal prior of the NB shape (config cart.nb_shape, cart.nb_shape_log_sd)."""

    centre: float
    log_sd: float

    def logpdf(self, log_r: float) -> float:
        return -0.5 * ((log_r - np.log(self.centre)) / self.log_sd) ** 2


@dataclass(frozen=True)
class AmbientPrior:
    """What is known of the ambient rate a before the T/NK cells: `umis` CAR UMIs seen
    over `library` UMIs of pure-ambient data (non-lymphoid cells plus the prior's
    pseudo-cells). Enters the likelihood as Poisson(umis; a * library)."""

    umis: float
    library: float

    @property
    def rate(self) -> float:
        return self.umis / self.library

    def logpdf(self, log_a: float) -> float:
        return self.umis * log_a - self.library * np.exp(log_a)


@dataclass(frozen=True)
class Grouped:
    """Cells grouped by (CAR UMIs, library-size bin): counts k, sizes lib, cells n."""

    k: np.ndarray
    lib: np.ndarray
    n: np.ndarray


@dataclass(frozen=True)
class MixtureFit:
    weight: float  # pi: share of the fitted cells in the CAR component
    ambient_rate: float  # a: ambient CAR UMIs per library UMI
    car_rate: float  # b: CAR UMIs per library UMI beyond ambient
    shape: float  # r: NB shape of the CAR component
    loglik: float  # penalised log-likelihood (with the shape prior)
    iterations: int
    converged: bool


def group_cells(k: np.ndarray, lib: np.ndarray) -> Grouped:
    """Collapse cells to (k, library bin) groups; a bin's size is its geometric mean."""
    logl = np.log(np.maximum(lib, 1.0))
    edges = np.unique(np.quantile(logl, np.linspace(0.0, 1.0, LIBRARY_BINS + 1)))
    bins = np.clip(np.searchsorted(edges, logl, side="right") - 1, 0, max(len(edges) - 2, 0))
    centre = np.exp(np.bincount(bins, logl) / np.maximum(np.bincount(bins), 1))
    keys, n = np.unique(np.column_stack([k.astype(np.int64), bins]), axis=0, return_counts=True)
    return Grouped(keys[:, 0].astype(float), centre[keys[:, 1]], n.astype(float))


def log_ambient(k: np.ndarray, lib: np.ndarray, a: float) -> np.ndarray:
    """log Poisson(k; a * lib)."""
    lam = a * lib
    return k * np.log(lam) - lam - gammaln(k + 1.0)


def _log_nb(k: np.ndarray, m: np.ndarray, r: float) -> np.ndarray:
    """log NegBin(k; mean m, shape r)."""
    return (
        gammaln(k + r)
        - gammaln(r)
        - gammaln(k + 1.0)
        + r * np.log(r / (r + m))
        + k * np.log(m / (r + m))
    )


def log_car(k: np.ndarray, lib: np.ndarray, a: float, b: float, r: float) -> np.ndarray:
    """log P(k) of a CAR-expressing cell: its own NegBin(b * lib, r) CAR UMIs plus
    Poisson(a * lib) ambient ones, the exact convolution sum_j Pois(j) NB(k - j).

    Exact rather than one NB of mean (a + b) * lib: that shortcut gives a CAR T cell
    more zeros than it has where ambient is a fifth or more of its CAR UMIs (20%
    contamination of a sorted sample), so the fit moved ambient-only 1-UMI cells into
    the CAR component: with the true ambient rate given, the calls at 20%
    contamination held 8.2% false discoveries with the shortcut, 5.7% exact
    (calibration grid, docs/car-calling.md). The sum stops where the ambient tail is
    below AMBIENT_TAIL."""
    k = np.asarray(k, dtype=float)
    lib = np.asarray(lib, dtype=float)
    lam, own = a * lib, b * lib
    n = k.astype(np.int64)
    # NB(n; own, r) = exp(coef[n] + r log(r / (r + own)) + n log(own / (r + own))):
    # the gamma terms depend on n only, so they are tabled once per call
    grid = np.arange(int(n.max(initial=0)) + 1, dtype=float)
    coef = gammaln(grid + r) - gammaln(r) - gammaln(grid + 1.0)
    log_q, log_p = np.log(r / (r + own)), np.log(own / (r + own))
    out = -lam + coef[n] + r * log_q + k * log_p  # no ambient UMI
    j_max = min(
        int(n.max(initial=0)), int(np.ceil(pdtrik(1.0 - AMBIENT_TAIL, lam.max(initial=0.0))))
    )
    # a loop over the ambient count j rather than a (cells x j) matrix: most groups
    # hold 0-3 UMIs, so the rows still in the sum shrink fast
    log_lam = np.log(lam)
    for j in range(1, j_max + 1):
        m = n >= j
        t = j * log_lam[m] - lam[m] - gammaln(j + 1.0)
        t += coef[n[m] - j] + r * log_q[m] + (k[m] - j) * log_p[m]
        out[m] = np.logaddexp(out[m], t)
    return out


def _split(x: np.ndarray) -> tuple[float, float, float]:
    """(a, b, r) from the optimiser's (log a, log b, log r)."""
    return float(np.exp(x[0])), float(np.exp(x[1])), float(np.exp(x[2]))


def _penalty(x: np.ndarray, ambient: AmbientPrior, shape: ShapePrior) -> float:
    return ambient.logpdf(x[0]) + shape.logpdf(x[2])


def _mixture_loglik(
    g: Grouped, pi: float, x: np.ndarray, ambient: AmbientPrior, shape: ShapePrior
) -> float:
    a, b, r = _split(x)
    la, lc = log_ambient(g.k, g.lib, a), log_car(g.k, g.lib, a, b, r)
    with np.errstate(divide="ignore"):
        mix = np.logaddexp(np.log(pi) + lc, np.log1p(-pi) + la)
    return float((g.n * mix).sum() + _penalty(x, ambient, shape))


def _maximise(fun, start: np.ndarray) -> np.ndarray:
    """Maximise fun over (log a, log b, log r) within the physical bounds."""
    res = optimize.minimize(
        lambda x: -fun(x),
        start,
        method="SLSQP",
        bounds=[LOG_RATE_BOUNDS, LOG_RATE_BOUNDS, LOG_SHAPE_BOUNDS],
    )
    return np.asarray(res.x)


def _m_step(
    g: Grouped, w: np.ndarray, ambient: AmbientPrior, shape: ShapePrior, start: np.ndarray
) -> np.ndarray:
    """M-step: (a, b, r) maximising the expected complete-data log-likelihood."""

    def expected(x: np.ndarray) -> float:
        a, b, r = _split(x)
        la, lc = log_ambient(g.k, g.lib, a), log_car(g.k, g.lib, a, b, r)
        return float((g.n * ((1.0 - w) * la + w * lc)).sum()) + _penalty(x, ambient, shape)

    return _maximise(expected, start)


def _initial_rate(g: Grouped, a: float, pi: float) -> float:
    """CAR rate that makes a share pi of cells explain the UMIs beyond ambient."""
    excess = (g.n * g.k).sum() / (g.n * g.lib).sum() - a
    return float(np.clip(max(excess, a) / pi, *np.exp(LOG_RATE_BOUNDS)))


def _em_from(g: Grouped, ambient: AmbientPrior, shape: ShapePrior, pi: float) -> MixtureFit:
    a0 = ambient.rate
    x = np.log([a0, _initial_rate(g, a0, pi), shape.centre])
    old = -np.inf
    for it in range(1, EM_MAX_ITER + 1):
        a, b, r = _split(x)
        lc, la = log_car(g.k, g.lib, a, b, r), log_ambient(g.k, g.lib, a)
        w = expit(np.log(pi) + lc - np.log1p(-pi) - la)  # E-step: P(CAR | k)
        pi = float(np.clip((g.n * w).sum() / g.n.sum(), PI_EDGE, 1.0 - PI_EDGE))
        x = _m_step(g, w, ambient, shape, x)
        ll = _mixture_loglik(g, pi, x, ambient, shape)
        if abs(ll - old) < EM_TOL:
            return MixtureFit(pi, *_split(x), ll, it, True)
        old = ll
    return MixtureFit(pi, *_split(x), old, EM_MAX_ITER, False)


def _polish(g: Grouped, fit: MixtureFit, ambient: AmbientPrior, shape: ShapePrior) -> MixtureFit:
    """Joint maximisation of (pi, a, b, r) from the EM result; kept if it is better."""
    edge = np.log(PI_EDGE)

    def neg(z: np.ndarray) -> float:
        return -_mixture_loglik(g, float(expit(z[0])), z[1:], ambient, shape)

    z0 = np.concatenate([[np.log(fit.weight) - np.log1p(-fit.weight)], _params(fit)])
    bounds = [(edge, -edge), LOG_RATE_BOUNDS, LOG_RATE_BOUNDS, LOG_SHAPE_BOUNDS]
    res = optimize.minimize(neg, z0, method="SLSQP", bounds=bounds)
    if not np.isfinite(res.fun) or -res.fun <= fit.loglik:
        return fit
    pi = float(expit(res.x[0]))
    return MixtureFit(pi, *_split(res.x[1:]), -float(res.fun), fit.iterations, fit.converged)


def fit_mixture(g: Grouped, ambient: AmbientPrior, shape: ShapePrior) -> MixtureFit:
    """EM fit of (pi, a, b, r): the best of EM_STARTS, polished."""
    fits = [_em_from(g, ambient, shape, pi0) for pi0 in EM_STARTS]
    return _polish(g, max(fits, key=lambda f: f.loglik), ambient, shape)


def posterior_car(k: np.ndarray, lib: np.ndarray, fit: MixtureFit) -> np.ndarray:
    """P(CAR-expressing | k, lib) of each cell under the fitted mixture."""
    a = fit.ambient_rate
    lc = log_car(k, lib, a, fit.car_rate, fit.shape)
    la = log_ambient(k, lib, a)
    return expit(np.log(fit.weight) + lc - np.log1p(-fit.weight) - la)


def detection_sensitivity(lib: np.ndarray, fit: MixtureFit) -> float:
    """P(>= 1 CAR UMI | CAR T) averaged over the given cells' library sizes."""
    k0 = np.zeros_like(lib, dtype=float)
    zero = np.exp(log_car(k0, lib, fit.ambient_rate, fit.car_rate, fit.shape))
    return float(1.0 - zero.mean())


def _params(fit: MixtureFit) -> np.ndarray:
    return np.log([fit.ambient_rate, fit.car_rate, fit.shape])


def weight_interval(
    g: Grouped, fit: MixtureFit, ambient: AmbientPrior, shape: ShapePrior, level: float
) -> tuple[float, float]:
    """Profile-likelihood interval of pi: the weights whose log-likelihood, with
    (a, b, r) re-maximised, is within chi2(1, level) / 2 of the maximum. Chosen over a
    bootstrap because it costs a few dozen optimisations, and it stays inside [0, 1]
    where pi is near a bound (sorted samples: near 1; unsorted ones: near 0), where a
    Wald interval fails. Re-fitting a widens it by the ambient rate's uncertainty."""
    start = _params(fit)
    floor = fit.loglik - chi2.ppf(level, 1) / 2.0

    def gap(pi: float) -> float:
        best = _maximise(lambda x: _mixture_loglik(g, pi, x, ambient, shape), start)
        return _mixture_loglik(g, pi, best, ambient, shape) - floor

    eps = 1.0 / (4.0 * g.n.sum())  # far below one cell: the ends are exact enough
    lo = hi = None
    if fit.weight <= eps or gap(eps) >= 0:
        lo = 0.0
    else:
        lo = optimize.brentq(gap, eps, fit.weight, xtol=eps)
    top = 1.0 - eps
    if fit.weight >= top or gap(top) >= 0:
        hi = 1.0
    else:
        hi = optimize.brentq(gap, fit.weight, top, xtol=eps)
    return float(lo), float(hi)


def fit_at_ambient(
    g: Grouped, log_a: float, start: MixtureFit, ambient: AmbientPrior, shape: ShapePrior
) -> MixtureFit:
    """(pi, b, r) maximising the penalised likelihood with the ambient rate held at
    exp(log_a): one point of the ambient rate's profile."""
    edge = np.log(PI_EDGE)

    def neg(z: np.ndarray) -> float:
        x = np.array([log_a, z[1], z[2]])
        return -_mixture_loglik(g, float(expit(z[0])), x, ambient, shape)

    w = float(np.clip(start.weight, PI_EDGE, 1.0 - PI_EDGE))
    z0 = np.array([np.log(w) - np.log1p(-w), np.log(start.car_rate), np.log(start.shape)])
    res = optimize.minimize(
        neg, z0, method="SLSQP", bounds=[(edge, -edge), LOG_RATE_BOUNDS, LOG_SHAPE_BOUNDS]
    )
    z = np.asarray(res.x)
    return MixtureFit(
        float(expit(z[0])),
        float(np.exp(log_a)),
        float(np.exp(z[1])),
        float(np.exp(z[2])),
        -float(res.fun),
        start.iterations,
        start.converged,
    )


def upper_ambient_fit(
    g: Grouped, fit: MixtureFit, ambient: AmbientPrior, shape: ShapePrior, level: float
) -> MixtureFit:
    """The fit at the upper end of the ambient rate's profile-likelihood interval:
    the largest a whose penalised log-likelihood, with (pi, b, r) re-maximised, is
    within chi2(1, level) / 2 of the best (the level of the reported CAR T % interval);
    pi, b and r as re-fitted there.

    Why the calls use it: in a sorted CD3+CAR+ sample with a handful of non-lymphoid
    cells the CAR counts barely tell ambient from weak CAR expression (measured: the
    profile of a is within 1 nat over a factor of 2), so the best fit can sit at half
    the true a; its posteriors then make ambient-only 1-UMI cells look like CAR T
    cells (8% false discoveries at 20% contamination). Calling at the largest a the
    data do not exclude keeps the FDR for every ambient rate in the interval; where a
    is well known (many non-lymphoid cells, or a clean fit) the interval is narrow and
    the calls barely change. Walks out in PROFILE_STEP steps of log a, then bisects."""
    floor = fit.loglik - chi2.ppf(level, 1) / 2.0
    lo, prev = np.log(fit.ambient_rate), fit
    while True:
        hi = min(lo + PROFILE_STEP, LOG_RATE_BOUNDS[1])
        if hi <= lo:
            return prev
        cur = fit_at_ambient(g, hi, prev, ambient, shape)
        if cur.loglik < floor:
            break
        lo, prev = hi, cur
    for _ in range(PROFILE_BISECTIONS):
        mid = 0.5 * (lo + hi)
        m = fit_at_ambient(g, mid, prev, ambient, shape)
        if m.loglik < floor:
            hi = mid
        else:
            lo, prev = mid, m
    return prev

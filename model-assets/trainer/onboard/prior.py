"""The prior a quiz starts from: the population of models that answered the bank.

The bundle's ``irt.prior`` is the population of every trained identity, across all datasets. A
model onboarded with a bank is better described by the models that took that bank: on mmlu-pro,
the training pool's mean sits 0.81 prior stds above the population mean along the leading
(ability) direction, and every cold-start model sits above it too. A 20-item quiz started from the
population prior cannot undo that shrinkage: in pools of four its identity kept a median 13% of
the full identity's gain, against 48% from the bank's population (docs/benchmarks/onboarding.md,
"Tenant pools"; at 10 items neither prior keeps much, and the bank prior is not better there). So a bank
carries its own prior: the mean of its population's identities and their covariance, shrunk
halfway to the population covariance (with 20-30 identities in 16 dimensions the empirical
covariance alone is rank-deficient and noisy; shrinking by a quarter or three quarters measured
the same within noise).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..data import load_dataset
from ..export.manifest import manifest_models
from .served import prior_of

#: Weight of the population covariance in a bank prior's covariance.
SHRINK = 0.5
#: Fewest identities a bank prior is estimated from.
MIN_MODELS = 3


@dataclass
class Prior:
    """A Gaussian prior of identities: ``mean`` [d], ``cov`` [d, d], and where it came from.

    @example
        >>> Prior(np.zeros(2), np.eye(2), models=["a", "b", "c"], source="bank").dim
        2
    """

    mean: np.ndarray
    cov: np.ndarray
    models: list[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, np.float64).reshape(-1)
        self.cov = np.asarray(self.cov, np.float64)
        d = self.mean.shape[0]
        if self.cov.shape != (d, d) or not (np.isfinite(self.mean).all() and np.isfinite(self.cov).all()):
            raise ValueError(f"prior: mean [{d}] and cov {self.cov.shape} disagree or are not finite")
        if not np.allclose(self.cov, self.cov.T, rtol=0.0, atol=1e-9):
            raise ValueError("prior: cov is not symmetric")   # the worker refuses it too (bank.ts)
        np.linalg.cholesky(self.cov)   # LinAlgError unless positive definite

    @property
    def dim(self) -> int:
        """Identity dimension d."""
        return int(self.mean.shape[0])

    def to_json(self, digits: int = 6) -> dict[str, Any]:
        """The bank JSON's ``prior`` (read by worker/onboarding/bank.ts)."""
        return {"mean": [round(float(x), digits) for x in self.mean],
                "cov": [[round(float(x), digits) for x in row] for row in self.cov],
                "models": list(self.models), "source": self.source}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Prior":
        """Inverse of :meth:`to_json`."""
        return cls(np.array(obj["mean"], np.float64), np.array(obj["cov"], np.float64),
                   [str(m) for m in obj.get("models", [])], str(obj.get("source", "")))


def bank_prior(identities: np.ndarray, population_cov: np.ndarray, models: Sequence[str] = (),
               source: str = "", shrink: float = SHRINK) -> Prior:
    """The prior of the population ``identities`` [n, d]: their mean, and their covariance shrunk
    toward ``population_cov`` by ``shrink``.

    @example
        >>> ids = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 1.0]])
        >>> p = bank_prior(ids, np.eye(2))
        >>> p.mean.tolist(), round(float(p.cov[0, 0]), 3)
        ([2.0, 0.3333333333333333], 1.0)
    """
    ids = np.asarray(identities, np.float64)
    if ids.ndim != 2 or ids.shape[0] < MIN_MODELS:
        raise ValueError(f"a bank prior needs at least {MIN_MODELS} identities, got "
                         f"{ids.shape[0] if ids.ndim == 2 else 0}")
    if not 0.0 < shrink <= 1.0:
        raise ValueError("shrink must be in (0, 1]: the population covariance keeps the prior proper")
    cov = (1.0 - shrink) * np.cov(ids.T) + shrink * np.asarray(population_cov, np.float64)
    return Prior(ids.mean(axis=0), 0.5 * (cov + cov.T), list(models), source)


def prior_from_models(manifest: dict[str, Any], names: Sequence[str], source: str = "") -> Prior:
    """The bank prior of the manifest's models named ``names`` (names or aliases; unknown names
    raise ``ValueError``, a model named twice counts once), shrunk toward the manifest's
    ``irt.prior`` covariance.

    @example
        prior = prior_from_models(manifest, ["Yi-34B", "gemma-7b", "Mixtral-8x7B-v0.1"])
    """
    known = manifest_models(manifest)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"not in bundle {manifest.get('version')}: {', '.join(unknown)}")
    picked: dict[int, tuple[str, list[float]]] = {}
    for n in names:
        picked.setdefault(id(known[n]), (n, known[n]))   # aliases share one identity list
    _, pop_cov = prior_of(manifest, int(manifest["identity_dim"]))
    return bank_prior(np.array([v for _, v in picked.values()]), pop_cov, [n for n, _ in picked.values()], source)


def dataset_models(manifest: dict[str, Any], dataset: str, exclude: Sequence[str] = ()) -> list[str]:
    """A dataset's models that the bundle was trained on (by name or alias), leaving out ``exclude``.

    @example
        names = dataset_models(manifest, "mmlu-pro", exclude=COLD_START_MODELS)
    """
    known = manifest_models(manifest)
    return [m for m in load_dataset(dataset).models if m in known and m not in set(exclude)]


def dataset_prior(manifest: dict[str, Any], dataset: str, exclude: Sequence[str] = ()) -> Prior:
    """The bank prior of a dataset's models that the bundle was trained on (the population that
    answered that dataset's prompts), leaving out ``exclude`` (the cold-start models of mmlu-pro).

    @example
        prior = dataset_prior(manifest, "mmlu-pro", exclude=COLD_START_MODELS)
    """
    return prior_from_models(manifest, dataset_models(manifest, dataset, exclude),
                             source=f"{dataset} models of bundle {manifest.get('version')}")


#: EM iterations of :func:`pool_prior` at most, and the change of its mean (max abs) that ends it.
POOL_PRIOR_ITERS = 50
POOL_PRIOR_TOL = 1e-5


def pool_prior(a: np.ndarray, c: np.ndarray, quizzes: Sequence[tuple[np.ndarray, np.ndarray]], start: Prior,
               iters: int = POOL_PRIOR_ITERS, tol: float = POOL_PRIOR_TOL) -> Prior:
    """The prior of a pool of models estimated from their quiz outcomes alone (empirical Bayes).

    ``quizzes`` holds, per model, the bank rows it answered and its outcomes there. EM under the
    Laplace approximation: each model's posterior under the current prior, then the prior's mean
    = the mean of the posterior means and its covariance = the mean posterior covariance plus the
    means' scatter, from ``start`` (the bundle's ``irt.prior``) until the mean stops moving.

    Why: the bundle's population prior describes the datasets it was trained on. A dataset it
    never saw sits elsewhere (measured on mmlu-pro left out: the population prior predicts a 0.12
    success rate on the quiz items where the pool scores 0.56), so every 20-item posterior stays
    near the wrong centre and the pool's levels come out compressed (spread 0.067 against 0.164).
    The quizzed pool itself says where its centre and spread are (docs/benchmarks/generalisation-quiz.md).

    @example
        prior = pool_prior(a, c, [(rows, y[rows, j]) for j in range(n_models)], Prior(m0, S0))
        laplace_posterior(a[rows], c[rows], y[rows, 0], prior.mean, prior.cov)
    """
    return priced_pool_prior(a, c, quizzes, np.zeros(len(quizzes)), start, iters, tol).at(0.0)


@dataclass
class PricedPrior:
    """A pool prior whose mean moves with the model's log price: a model at log price ``x`` has
    ``Prior(mean + slope * (x - centre), cov)``, ``centre`` the pool's mean log price.

    @example
        >>> pp = PricedPrior(np.zeros(2), np.ones(2), np.eye(2), centre=1.0, source="pool")
        >>> pp.at(1.5).mean.tolist()
        [0.5, 0.5]
    """

    mean: np.ndarray
    slope: np.ndarray
    cov: np.ndarray
    centre: float = 0.0
    source: str = ""

    def at(self, log_price: float) -> Prior:
        """The prior of a model at ``log_price``."""
        return Prior(self.mean + self.slope * (float(log_price) - self.centre), self.cov, source=self.source)


def priced_pool_prior(a: np.ndarray, c: np.ndarray, quizzes: Sequence[tuple[np.ndarray, np.ndarray]],
                      z: np.ndarray, start: Prior, iters: int = POOL_PRIOR_ITERS,
                      tol: float = POOL_PRIOR_TOL) -> PricedPrior:
    """:func:`pool_prior` with each model's log price as a covariate of its prior mean (``z`` [M]):
    the M-step regresses the posterior means on ``z``, and the covariance is the mean
    posterior covariance plus the residuals' scatter. ``z`` all equal gives :func:`pool_prior`.

    Why: a 20-item quiz measures a model's level with a standard error near 0.1, while pool
    models are spaced a few hundredths apart, so the quiz alone cannot rank them; price can. On
    mmlu-pro's 27 pool models, quality correlates with log price at 0.69 (docs/benchmarks/generalisation-quiz.md).

    @example
        z = np.log(price_per_request)
        pp = priced_pool_prior(a, c, quizzes, z, Prior(m0, S0))
        laplace_posterior(a[rows], c[rows], y[rows, 0], pp.at(z[0]).mean, pp.cov)
    """
    from .laplace import laplace_posterior

    if len(quizzes) < MIN_MODELS:
        raise ValueError(f"a pool prior needs at least {MIN_MODELS} quizzed models, got {len(quizzes)}")
    centre = float(np.mean(z))
    z = np.asarray(z, np.float64) - centre
    if z.shape != (len(quizzes),) or not np.isfinite(z).all():
        raise ValueError(f"priced pool prior: {len(quizzes)} finite log prices expected")
    zz = float(z @ z)
    mean, slope, cov = start.mean.copy(), np.zeros_like(start.mean), start.cov.copy()
    for _ in range(iters):
        posts = [laplace_posterior(a[r], c[r], y, mean + slope * zj, cov) for (r, y), zj in zip(quizzes, z)]
        means = np.array([p.mean for p in posts])
        new_mean = means.mean(axis=0)
        new_slope = z @ (means - new_mean) / zz if zz > 0 else np.zeros_like(new_mean)
        resid = means - new_mean - np.outer(z, new_slope)
        cov = np.mean([p.cov for p in posts], axis=0) + resid.T @ resid / len(posts)
        cov = 0.5 * (cov + cov.T)
        moved = float(max(np.max(np.abs(new_mean - mean)), np.max(np.abs(new_slope - slope))))
        mean, slope = new_mean, new_slope
        if moved < tol:
            break
    covariate = " with log price as a covariate of the mean" if zz > 0 else ""
    source = (f"EM over the quiz outcomes of {len(quizzes)} pool models{covariate}, "
              f"from {start.source or 'the bundle prior'}")
    return PricedPrior(mean, slope, cov, centre, source=source)

"""Online identity learning: feedback updates a newcomer's identity, exploration gives it traffic.

Two pure pieces, written so that the worker can mirror them line by line (its quiz maths lives in
``worker/onboarding/laplace.ts``; the numbers to reproduce are pinned in
``test/worker/onboarding/fixtures/online.json``, written by ``test/model-assets/onboard/test_online.py``).

**The update.** A feedback score on a served request is one more outcome ``y`` in [0, 1] of (this
prompt, the model that answered), and under the frozen IRT head that prompt is one more logistic
item, ``p = sigmoid(a . theta - c)``, with ``a`` and ``c`` read off ``irt.onnx`` for the prompt at
decision time (the probe identities of :mod:`.served`). :func:`update_identity` folds a batch of such
events into the model's Gaussian posterior ``N(m, S)`` with the quiz's own routine
(:func:`.laplace.laplace_posterior`), the current posterior taking the place of the prior.

Why this is the right sequential update: Bayes' rule is sequential,
``p(theta | D_1..D_t) ~ p(D_t | theta) p(theta | D_1..D_t-1)``, so "the posterior so far is the
prior of the next batch" is exact. The one approximation is the quiz's own: each posterior is kept
as the Gaussian at its MAP with the inverse Hessian as covariance (Laplace), so the next batch sees
a quadratic stand-in for the earlier log-likelihood. The stand-in is exact at the earlier MAP to
second order; what it drops are the logistic terms' third and higher derivatives, weighted by how
far the next batch moves the MAP. Measured on synthetic banks (test_online.py; a 20-item quiz,
then 200 events): batches of 1 to 64 land 0.03-0.19 final posterior stds from one batch of all
200 (stds within 4%). A refit from the bank prior on the quiz items and all feedback differs more,
0.44-0.92 final stds (0.12-0.27 prior stds): the quiz posterior's own Laplace error (20 outcomes,
a wide prior) is carried forward, not undone. That is small beside what the feedback moves (the
quiz identity sits 3.4-5.1 final stds from the refit) and the two are about as far from the true
identity; the refit's price is keeping every outcome of every model forever.
The sequential form is what a service can run: it stores (mean, covariance) and never re-reads
old outcomes, and each update costs ``O(n d^2 + d^3)`` per Newton step for ``n`` events, bounded by
:data:`MAX_UPDATE_BATCH`.

The prompts a newcomer is asked are picked by the router from its current identity, not at random.
That does not bias the posterior (the choice depends only on data already conditioned on: the
likelihood principle), and the update needs no propensities; those are for scoring *other* policies
offline (:func:`ips_value`).

**Exploration.** A pool may serve a candidate drawn from the policy's probabilities sharpened or
flattened by a temperature ``T`` instead of its top choice: ``q_i = p_i^(1/T) / sum_k p_k^(1/T)``
(:func:`tempered`); ``T = 1`` samples the policy as trained, ``T -> 0`` is its argmax, larger ``T``
flattens towards uniform over the candidates the policy was shown (a candidate with ``p_i = 0``, one
it was not shown, is never served). :func:`explore` draws with a uniform number ``u`` in [0, 1) by
inverse CDF in candidate order and returns the served index and its propensity ``q_i``, which the
decision log records so a new bundle can be scored by inverse propensity.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .laplace import Posterior, laplace_posterior

#: Most feedback events one update folds in (one Newton solve over at most this many items; the
#: quiz's own calls stay below 50 items, so the cost per update is that of one quiz fit).
MAX_UPDATE_BATCH = 64
#: Temperatures a pool may set for exploration. Below the minimum p^(1/T) underflows for any
#: candidate but the top one (it is the argmax in all but name: turn exploration off instead);
#: above the maximum every shown candidate is nearly equally likely, whatever the policy thinks.
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 10.0


def update_identity(mean: np.ndarray, cov: np.ndarray, a: np.ndarray, c: np.ndarray, y: np.ndarray,
                    *, max_batch: int = MAX_UPDATE_BATCH) -> Posterior:
    """The posterior after one batch of feedback events: the quiz's Laplace fit with the current
    posterior ``N(mean, cov)`` as its prior. ``a`` [n, d], ``c`` [n] are the events' prompts' item
    parameters, ``y`` [n] their outcomes in [0, 1]. An empty batch returns the current posterior;
    more than ``max_batch`` events is an error (:func:`update_in_batches` splits).

    ``n_items`` of the result counts this batch's events only.

    @example
        >>> post = update_identity(np.zeros(1), np.eye(1), np.ones((3, 1)), np.zeros(3), np.ones(3))
        >>> bool(post.mean[0] > 0 and post.cov[0, 0] < 1)
        True
    """
    y = np.asarray(y, np.float64).reshape(-1)
    if y.shape[0] > max_batch:
        raise ValueError(f"{y.shape[0]} feedback events in one update; at most {max_batch}")
    mean = np.asarray(mean, np.float64)
    cov = np.asarray(cov, np.float64)
    if y.shape[0] == 0:
        return Posterior(mean=mean.copy(), cov=cov.copy(), iterations=0, converged=True, n_items=0)
    return laplace_posterior(np.asarray(a, np.float64).reshape(y.shape[0], -1), c, y, mean, cov)


def update_in_batches(mean: np.ndarray, cov: np.ndarray, a: np.ndarray, c: np.ndarray, y: np.ndarray,
                      batch: int = MAX_UPDATE_BATCH) -> Posterior:
    """Events folded in, in order, ``batch`` at a time (each at most :data:`MAX_UPDATE_BATCH`).

    @example
        >>> post = update_in_batches(np.zeros(1), np.eye(1), np.ones((5, 1)), np.zeros(5), np.ones(5), batch=2)
        >>> post.n_items, bool(post.mean[0] > 0)
        (5, True)
    """
    if not 1 <= batch <= MAX_UPDATE_BATCH:
        raise ValueError(f"batch must be in [1, {MAX_UPDATE_BATCH}]")
    y = np.asarray(y, np.float64).reshape(-1)
    a = np.asarray(a, np.float64).reshape(y.shape[0], -1)
    c = np.asarray(c, np.float64).reshape(-1)
    post = Posterior(mean=np.asarray(mean, np.float64).copy(), cov=np.asarray(cov, np.float64).copy(),
                     iterations=0, converged=True, n_items=0)
    for s in range(0, y.shape[0], batch):
        step = update_identity(post.mean, post.cov, a[s:s + batch], c[s:s + batch], y[s:s + batch])
        post = Posterior(step.mean, step.cov, post.iterations + step.iterations,
                         post.converged and step.converged, post.n_items + step.n_items)
    return post


def training_posterior(identity: Sequence[float], identity_std: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """A trained model's manifest identity as a Gaussian to update: its mean, and its std as a
    diagonal covariance (the variational posterior the IRT training keeps).

    @example
        >>> m, S = training_posterior([0.5, -1.0], [0.1, 0.2])
        >>> S.round(3).tolist()
        [[0.01, 0.0], [0.0, 0.04]]
    """
    std = np.asarray(identity_std, np.float64)
    if np.any(std <= 0) or not np.isfinite(std).all():
        raise ValueError("identity_std must be positive and finite")
    return np.asarray(identity, np.float64).copy(), np.diag(std * std)


def decayed_penalty(penalty: float, logit_std: float, logit_std_start: float) -> float:
    """An uncertainty penalty that shrinks as feedback narrows the newcomer's posterior:
    ``penalty * logit_std / logit_std_start``, with ``logit_std`` the posterior std of its mean
    success logit over the bank's items now (``bankAbility`` in worker/onboarding/ability.ts) and
    ``logit_std_start`` the same at the quiz. Never above ``penalty``. Without it the rule stays
    ``penalty`` stds below the mean however much is known, and once feedback has corrected an
    over-rated quiz mean the remaining std still pushes the newcomer below what it is.

    @example
        >>> decayed_penalty(1.0, 0.15, 0.30)
        0.5
    """
    if not (logit_std >= 0 and logit_std_start > 0):
        raise ValueError("logit stds must be non-negative, the starting one positive")
    return float(penalty * min(1.0, logit_std / logit_std_start))


def serving_penalty(penalty: float, logit_std: float, logit_std_start: float, exploring: bool) -> float:
    """The uncertainty penalty a pool routes a candidate with an uncertain identity (a quiz or online
    one) with: 0 while the pool explores, so that the policy's probabilities, its top choice and
    the draw see the newcomer at its posterior mean (where the pessimistic estimate would hide it
    behind a trained model, it still gets its share of traffic and so of feedback); otherwise
    :func:`decayed_penalty`. Scoring and every non-exploring pool use the decayed penalty.

    @example
        >>> serving_penalty(1.0, 0.15, 0.30, exploring=True), serving_penalty(1.0, 0.15, 0.30, exploring=False)
        (0.0, 0.5)
    """
    decayed = decayed_penalty(penalty, logit_std, logit_std_start)
    return 0.0 if exploring else decayed


def tempered(probs: Sequence[float], temperature: float, eligible: Sequence[bool] | None = None) -> np.ndarray:
    """The policy's probabilities at a temperature: ``q_i = p_i^(1/T) / sum_k p_k^(1/T)``, computed
    as ``exp((ln p_i - ln p_max) / T)`` so that small ``T`` does not underflow the top candidate.
    ``p_i = 0`` (a candidate the policy was not shown) stays 0. ``eligible`` (optional, one flag per
    candidate) restricts the draw to those candidates: the others count as ``p_i = 0``
    (:func:`exploration_mask`: the top choice and the candidates still being learned).

    @example
        >>> tempered([0.6, 0.3, 0.1, 0.0], 1.0).round(3).tolist()
        [0.6, 0.3, 0.1, 0.0]
        >>> tempered([0.6, 0.3, 0.1, 0.0], 2.0).round(3).tolist()
        [0.473, 0.334, 0.193, 0.0]
        >>> tempered([0.6, 0.3, 0.1, 0.0], 1.0, [True, False, True, True]).round(3).tolist()
        [0.857, 0.0, 0.143, 0.0]
    """
    if not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be in [{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]")
    p = [float(x) for x in probs]
    if not p or any(not math.isfinite(x) or x < 0 for x in p):
        raise ValueError("probabilities must be finite and non-negative")
    if eligible is not None:
        if len(eligible) != len(p):
            raise ValueError("one eligibility flag per candidate")
        p = [x if ok else 0.0 for x, ok in zip(p, eligible)]
    if max(p) <= 0:
        raise ValueError("no eligible candidate has a positive probability")
    top = math.log(max(p))
    w = [math.exp((math.log(x) - top) / temperature) if x > 0 else 0.0 for x in p]
    total = sum(w)
    return np.array([x / total for x in w])


def explore(probs: Sequence[float], temperature: float, u: float,
            eligible: Sequence[bool] | None = None) -> tuple[int, float]:
    """The candidate to serve and its propensity: the first ``i`` whose cumulative tempered
    probability (:func:`tempered`, over the ``eligible`` candidates if given) exceeds ``u`` (a
    uniform draw in [0, 1)), and ``q_i``. Rounding can leave the last cumulative sum just below
    ``u``: the last candidate with ``q_i > 0`` is served then.

    @example
        >>> i, q = explore([0.6, 0.3, 0.1], 1.0, 0.65)
        >>> i, round(q, 6)
        (1, 0.3)
        >>> explore([0.6, 0.3, 0.1], 1.0, 0.0)[0], explore([0.6, 0.3, 0.1], 1.0, 0.9999)[0]
        (0, 2)
    """
    if not 0.0 <= u < 1.0:
        raise ValueError("u must be in [0, 1)")
    q = tempered(probs, temperature, eligible)
    acc = 0.0
    last = 0
    for i, qi in enumerate(q):
        if qi <= 0:
            continue
        last = i
        acc += qi
        if u < acc:
            return i, float(qi)
    return last, float(q[last])


def exploration_mask(top: int, uncertain: Sequence[bool]) -> list[bool]:
    """The candidates an exploring pool may serve when it explores only what it is still learning:
    its top choice and every candidate with an uncertain identity (a quiz or online one, the ones
    routed with a covariance). A request whose top choice is the only eligible candidate with
    ``p > 0`` is then served as without exploration (propensity 1), and no request is spent on a
    trained model the policy ranks lower, which teaches nothing.

    @example
        >>> exploration_mask(0, [False, False, True, False])
        [True, False, True, False]
    """
    return [i == top or bool(u) for i, u in enumerate(uncertain)]


def sample_served(probs: Sequence[float], temperature: float, rng: np.random.Generator) -> tuple[int, float]:
    """:func:`explore` with ``u`` from a seeded generator (the replay; the worker draws its own).

    @example
        >>> sample_served([0.0, 1.0], 1.0, np.random.default_rng(0))
        (1, 1.0)
    """
    return explore(probs, temperature, float(rng.random()))


def ips_value(rewards: Sequence[float], propensities: Sequence[float], target_probs: Sequence[float],
              self_normalised: bool = True) -> float:
    """Off-policy value of a target policy from logged traffic: each served request's reward (its
    feedback), the logged propensity of the served candidate, and the target policy's probability
    of that same candidate on that request. Inverse propensity scoring,
    ``sum_i r_i w_i / n`` with ``w_i = pi_target(a_i) / q_i``; self-normalised (divided by
    ``sum_i w_i`` instead of ``n``, lower variance, slightly biased) by default.

    @example
        >>> ips_value([1.0, 0.0, 1.0], [0.5, 0.5, 0.25], [1.0, 0.0, 1.0], self_normalised=False)
        2.0
        >>> ips_value([1.0, 0.0, 1.0], [0.5, 0.5, 0.25], [1.0, 0.0, 1.0])
        1.0
    """
    r = np.asarray(rewards, np.float64)
    q = np.asarray(propensities, np.float64)
    t = np.asarray(target_probs, np.float64)
    if not (r.shape == q.shape == t.shape) or r.size == 0:
        raise ValueError("rewards, propensities and target probabilities must be non-empty and aligned")
    if np.any(q <= 0) or np.any(q > 1):
        raise ValueError("logged propensities must be in (0, 1]")
    w = t / q
    if self_normalised:
        return float(np.sum(w * r) / np.sum(w)) if np.sum(w) > 0 else float("nan")
    return float(np.mean(w * r))

"""Onboarding a new model from a short quiz (LLM Bandit, section "new models").

With the IRT head frozen, every bank item j is a logistic item with discrimination vector
``a_j = a(e_j)`` and difficulty ``c_j = c(e_j)``: ``p_j(theta) = sigmoid(a_j . theta - c_j)``.

- :mod:`.items`    the item bank (ids + item parameters) and its JSON form (``bank.json``);
- :mod:`.prior`    the prior a quiz starts from: the population of models that answered the bank;
- :mod:`.design`   quiz selection: greedy D-optimal design on the prior-expected Fisher information,
  and the random baseline;
- :mod:`.laplace`  the posterior of a new identity from quiz outcomes (Newton MAP + Laplace);
- :mod:`.bank`     building a bank from prompts with a trained IRT head;
- :mod:`.evaluate` the onboarding benchmark (``npm run eval -- --onboarding``).
"""
from .design import expected_item_weights, random_quiz, select_quiz
from .items import ItemBank
from .laplace import Posterior, laplace_posterior

__all__ = [
    "ItemBank",
    "Posterior",
    "expected_item_weights",
    "laplace_posterior",
    "random_quiz",
    "select_quiz",
]

"""The prediction layer: what the router believes each candidate's success on a prompt is.

``p_success = sigmoid(bias_k + slope_irt * logit(p_irt) + slope_nb * logit(p_nb))`` for a model with
outcome rows in the bundle (``p_nb``: a neighbour estimate over the bundle's own train prompts,
``neighbours.py``; the combination, ``stack.py``, its slopes checked by routing, ``routing.py``);
the IRT alone for any other model (onboarded by quiz, fitted by the operator). ``layer.py`` puts
them together for training, evaluation and export.
"""
from .fit import LayerFit, evaluate_layer, fit_layer
from .layer import IrtPredictor, PredictionLayer, Predictor, as_predictor
from .neighbours import NeighbourIndex, fit_index
from .stack import Stack, fit_stack

__all__ = ["IrtPredictor", "LayerFit", "evaluate_layer", "fit_layer", "NeighbourIndex", "PredictionLayer", "Predictor",
           "Stack", "as_predictor", "fit_index", "fit_stack"]

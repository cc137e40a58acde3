"""Variational IRT score predictor: p(success | prompt, model) = sigmoid(a(e) . theta_k - c(e))."""

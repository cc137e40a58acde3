"""Offline training pipeline of the router: data adapters, embedder, IRT, policy, export, eval."""

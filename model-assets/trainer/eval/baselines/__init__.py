"""Baseline routers, each trained on a dataset's train split and scored on its test split.

- :mod:`.greedy`      the shared decision rule: argmax of w * predicted quality - (1 - w) * cost_norm;
- :mod:`.knn`         multi-model kNN on prompt embeddings;
- :mod:`.category`    best model per category (where the data has categories);
- :mod:`.mf`          RouteLLM's matrix-factorisation router (binary, threshold swept);
- :mod:`.sw_ranking`  RouteLLM's similarity-weighted ranking router (binary, threshold swept);
- :mod:`.binary`      strong/weak pairs, random mixing and threshold curves.
"""

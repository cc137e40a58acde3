"""Does a pair route as well from a bundle trained on every shared dataset as from its own data?

    cd model-assets
    python3 tools/pair_pooling.py --bundle bundles/$(cat bundles/DEFAULT) --json /tmp/pooling.json

For every dataset of two models whose two model columns also have outcomes in another shared
dataset (RouteLLM's benchmarks share ``routellm/gpt-4-1106-preview`` and
``routellm/Mixtral-8x7B-Instruct-v0.1``), it scores the strong-minus-weak ranking on the dataset's
test split (APGR, random = 0.5) of

- SW ranking trained on the dataset's own train prompts (the baseline ``npm run eval`` reports),
- SW ranking trained on the train prompts of every dataset with both columns (what a bundle built
  on all of ``shared/data`` has for that pair),
- the neighbour index (``trainer.predict.neighbours``) built on those two sets of prompts, at its
  leave-one-out log-loss width and at each width ``choose_pair_width`` tries.

Prompts are embedded with the bundle's ``embedder.onnx`` (cached under ``--work``). The answer it
gave is in docs/benchmarks/notes.md (Generalisation).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data import COLD_START_MODELS, DATASETS, load_dataset  # noqa: E402
from trainer.eval import served as S  # noqa: E402
from trainer.eval.baselines.sw_ranking import sw_scores  # noqa: E402
from trainer.eval.routers import binary_pairs  # noqa: E402
from trainer.predict.neighbours import fit_index  # noqa: E402
from trainer.predict.routing import PAIR_TAUS  # noqa: E402
from trainer.scoring.binary import threshold_points  # noqa: E402
from trainer.scoring.evalset import EvalSet, build_evalset  # noqa: E402


def load(name: str, bundle: Path, work: Path) -> tuple[EvalSet, S.ServedPrompts]:
    """The dataset as ``npm run eval`` scores it, with its served embeddings (cached)."""
    es = build_evalset(load_dataset(name), exclude=COLD_START_MODELS if name == "mmlu-pro" else ())
    cache = work / f"{name}-{bundle.name}.pkl"
    if cache.exists():
        return es, pickle.loads(cache.read_bytes())
    prompts = S.embed_and_probe(es, bundle, probe=False)
    cache.write_bytes(pickle.dumps(prompts))
    return es, prompts


def pair_apgr(scores: np.ndarray, es: EvalSet, strong: int, weak: int) -> float:
    return round(float(threshold_points(scores, es.test.cost, es.test.quality, strong, weak)[1]), 4)


def neighbour_apgrs(train_emb: np.ndarray, y: np.ndarray, es: EvalSet, test_emb: np.ndarray,
                    columns: list[int], strong: int, weak: int) -> dict[str, float]:
    """APGR of the index's strong-minus-weak estimate at the log-loss width and each pair width."""
    index = fit_index(train_emb, y)
    out = {"log_loss_tau": index.tau}
    for tau in sorted({index.tau, *PAIR_TAUS}):
        p = index.estimate(*index.stats(test_emb, columns, tau=tau), columns=columns)
        out[f"tau {tau:g}"] = pair_apgr(p[:, 0] - p[:, 1], es, strong, weak)
    return out


def study(bundle: Path, work: Path) -> list[dict]:
    data = {name: load(name, bundle, work) for name in DATASETS}
    models = sorted({m for es, _ in data.values() for m in es.models})
    col = {m: k for k, m in enumerate(models)}
    rows = []
    for es, prompts in data.values():
        y = np.full((len(prompts.train_emb), len(models)), np.nan)
        y[:, [col[m] for m in es.models]] = es.train.table.outcome
        rows.append((prompts.train_emb, y))
    all_emb, all_y = np.concatenate([e for e, _ in rows]), np.concatenate([y for _, y in rows])
    out = []
    for name, (es, prompts) in data.items():
        for _, strong, weak in binary_pairs(es) if len(es.models) == 2 else []:
            pair = [es.models[strong], es.models[weak]]
            shared = [n for n, (other, _) in data.items() if all(m in other.models for m in pair)]
            if len(shared) < 2 or not np.isfinite(pair_apgr(np.zeros(len(es.test.cost)), es, strong, weak)):
                continue
            print(f"[pooling] {name}: {pair[0]} / {pair[1]}, also in {', '.join(n for n in shared if n != name)}",
                  flush=True)
            own_y = es.train.table.outcome.astype(np.float64)
            fought = [(data[n][1].train_emb, data[n][0].train.table.outcome[:, [data[n][0].models.index(m)
                                                                                for m in pair]])
                      for n in shared]
            pooled_emb = np.concatenate([e for e, _ in fought])
            pooled_y = np.concatenate([y for _, y in fought]).astype(np.float64)
            cols = [col[m] for m in pair]
            out.append({
                "dataset": name, "pair": pair, "pooled_from": shared,
                "sw_own": pair_apgr(sw_scores(prompts.train_emb, own_y[:, strong], own_y[:, weak], prompts.test_emb),
                                    es, strong, weak),
                "sw_pooled": pair_apgr(sw_scores(pooled_emb, pooled_y[:, 0], pooled_y[:, 1], prompts.test_emb),
                                       es, strong, weak),
                "neighbours_own": neighbour_apgrs(prompts.train_emb, own_y, es, prompts.test_emb,
                                                  [strong, weak], 0, 1),
                "neighbours_all": neighbour_apgrs(all_emb, all_y, es, prompts.test_emb, cols, 0, 1),
            })
            print(json.dumps(out[-1]), flush=True)
    return out


def markdown(results: list[dict]) -> str:
    lines = ["| dataset | SW own | SW pooled | neighbours own (best width) | neighbours, every dataset (best width) |",
             "|---|---:|---:|---:|---:|"]

    def best(d: dict) -> str:
        k = max((k for k in d if k.startswith("tau")), key=lambda k: d[k])
        at_log_loss = d["tau %g" % d["log_loss_tau"]]
        return f"{at_log_loss:.3f} ({d[k]:.3f} at {k[4:]})"

    for r in results:
        lines.append(f"| {r['dataset']} | {r['sw_own']:.3f} | {r['sw_pooled']:.3f} | {best(r['neighbours_own'])} "
                     f"| {best(r['neighbours_all'])} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True, help="bundle folder whose embedder.onnx embeds the prompts")
    ap.add_argument("--work", type=Path, default=Path(".cache/pair-pooling"), help="embedding cache")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = study(args.bundle, args.work)
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

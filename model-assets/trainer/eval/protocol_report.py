"""Tables and a plot of a generalisation protocol run (``trainer.eval.protocol``): what goes to
``docs/benchmarks/generalisation-<protocol>.md`` / ``.png``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..figures import save_figure
from .protocol import TARGET_BASELINES
from .report import _fmt, dataset_table

#: AIQ the policy may fall short of a baseline by and still meet the byod target (issue 22).
AIQ_SLACK = 0.002
#: Datasets whose RouteLLM pair has an APGR target (policy at least SW ranking's).
APGR_TARGETS = ("routellm-mmlu", "routellm-gsm8k")
SHORT = {"byod": "byod", "leave-one-out": "loo"}


def _baselines(block: dict[str, Any]) -> dict[str, float]:
    return {k: v["aiq"] for k, v in block["routers"].items()
            if k not in ("policy", "oracle", "hull") and not k.startswith("policy_pair") and v["aiq"] is not None}


def byod_target(name: str, block: dict[str, Any]) -> str:
    """The byod protocol's targets for one dataset, met or missed, in words.

    @example
        byod_target("mmlu-pro", block)   # "met" or "missed: knn_tfidf 0.8190 > 0.8150 + 0.002; ..."
    """
    notes = []
    pol = block["routers"]["policy"]["aiq"]
    if len(block["pool"]) >= 3:
        short = [(k, a) for k, a in _baselines(block).items()
                 if k.split("_routellm_pair")[0] in TARGET_BASELINES and a > pol + AIQ_SLACK]
        notes += [f"{k} AIQ {a:.4f} > {pol:.4f} + {AIQ_SLACK}" for k, a in sorted(short, key=lambda x: -x[1])]
        mine, knn = block["savings_vs"].get("hull"), block.get("knn_saves_vs_hull")
        if mine is not None and knn is not None and mine < knn:
            notes.append(f"saves {mine:+.1%} vs the hull, kNN {knn:+.1%}")
    if name in APGR_TARGETS:
        notes += _apgr_miss(block)
    if len(block["pool"]) < 3 and name not in APGR_TARGETS:
        return "- (2 models)"
    return "met" if not notes else "missed: " + "; ".join(notes)


def _apgr_miss(block: dict[str, Any]) -> list[str]:
    r = block["routers"]
    pp, sw = r.get("policy_pair", {}).get("apgr"), r.get("sw_ranking", {}).get("apgr")
    return [f"pair APGR {pp:.3f} < SW ranking {sw:.3f}"] if pp is not None and sw is not None and pp < sw else []


def loo_target(block: dict[str, Any]) -> str:
    """The leave-one-out target: policy AIQ at least the single-model hull's.

    @example
        loo_target(results["datasets"]["mmlu-pro:quiz-20"])   # "missed: 0.7565 < hull 0.8105"
    """
    pol, hull = block["routers"]["policy"]["aiq"], block["hull_aiq"]
    return "met" if pol >= hull else f"missed: {pol:.4f} < hull {hull:.4f}"


def summary_rows(results: dict[str, Any]) -> list[str]:
    """The protocol's summary table: one row per dataset (and identity variant).

    @example
        print("\n".join(summary_rows(results)))
    """
    protocol = results["meta"]["protocol"]
    lines = [
        "| dataset | models | hull AIQ | policy AIQ | policy - hull (90% CI) | best baseline (AIQ) | kNN AIQ | "
        "policy CTM | saves vs hull (kNN's) | vs kNN | vs RouteLLM-MF | target |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, b in results["datasets"].items():
        r = b["routers"]
        base = _baselines(b)
        top = max(base.items(), key=lambda kv: kv[1]) if base else None
        ci = b.get("bootstrap", {}).get("policy_minus_hull_aiq")
        sv, allsv = b["savings_vs"], b.get("savings_vs_all", {})
        knn_sv = b.get("knn_saves_vs_hull")
        target = byod_target(name, b) if protocol == "byod" else loo_target(b)
        lines.append(
            f"| {name} | {len(b['pool'])} | {b['hull_aiq']:.4f} | {r['policy']['aiq']:.4f} | "
            f"{r['policy']['aiq'] - b['hull_aiq']:+.4f}" + (f" [{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "") + " | "
            + (f"{top[0]} ({top[1]:.4f})" if top else "-") + f" | {_fmt(r.get('knn', {}).get('aiq'))} | "
            f"{_fmt(r['policy']['ctm'])} | {_fmt(sv.get('hull'), True)} ({_fmt(knn_sv, True)}) | "
            f"{_fmt(allsv.get('knn'), True)} | {_fmt(sv.get('routellm_mf'), True)} | {target} |")
    return lines


def pair_rows(results: dict[str, Any]) -> list[str]:
    """Binary pairs: APGR of the policy on the pair, SW ranking and RouteLLM-MF, with the bootstrap
    interval of the policy's lead.

    @example
        print("\n".join(pair_rows(results)))
    """
    lines = [
        "| dataset | pair (strong / weak) | policy APGR | SW ranking | RouteLLM-MF | policy - SW (90% CI) | policy - "
        "MF (90% CI) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for name, b in results["datasets"].items():
        r = b["routers"]
        for key, boot in b.get("bootstrap", {}).items():
            if not key.startswith("pair"):
                continue
            suffix = key[len("pair"):]

            def ap(router: str) -> str:
                return _fmt(r.get(router + suffix, {}).get("apgr"))

            def ci(k: str) -> str:
                v = boot.get(k)
                return f"[{v[0]:+.3f}, {v[1]:+.3f}]" if v else "-"

            lines.append(f"| {name} | {boot['pair'][0]} / {boot['pair'][1]} | {ap('policy_pair')} | "
                         f"{ap('sw_ranking')} | {ap('routellm_mf')} | {ci('policy_pair_minus_sw_ranking_apgr')} | "
                         f"{ci('policy_pair_minus_routellm_mf_apgr')} |")
    return lines


def protocol_markdown(results: dict[str, Any], command: str, plot_name: str | None) -> str:
    """The whole generated page of one protocol run.

    @example
        page = protocol_markdown(res, cmd, "generalisation-byod.png")
        Path("docs/benchmarks/generalisation-byod.md").write_text(page)
    """
    meta = results["meta"]
    protocol = meta["protocol"]
    recipe = meta["recipe"]
    what = {
        "byod": "each shared dataset alone, written as a bring-your-own-data folder (its fixed split, the cost "
                "model's token counts, prices; mmlu-pro without its cold-start models), built with "
                "`build:bundle --byod` on it and scored on its test split as "
                "`npm run eval -- --data DIR --bundle DIR` scores it. The bundle's identities are its own, trained "
                "on the train split.",
        "leave-one-out": "a bundle built on every shared dataset but one (`build:bundle --exclude-dataset NAME`) "
                         "routes the left-out one as a new customer is served: every pool model's identity fitted on "
                         "its train split with the prompt head frozen (also the models the bundle knows from other "
                         "datasets: their grades there came from another harness), and, in the `:quiz-N` rows, from "
                         "an N-item quiz of the train prompts, the same items for every pool model (k-means medoids "
                         "of the items; a two-model pool: the static I-optimal design from the bundle's `irt.prior`), "
                         "the Laplace posterior under the prior EM finds from the whole pool's quiz outcomes and "
                         "prices (each model's log price a covariate of its prior mean; a two-model pool: the "
                         "bundle's prior), routed one posterior std below its mean as the worker "
                         "routes a quiz identity (docs/benchmarks/generalisation-quiz.md).",
    }[protocol]
    bundles = meta.get("bundles", {})
    lines = [
        f"# Generalisation protocol `{protocol}` (generated by `npm run eval -- --protocol {protocol}`; do not edit)",
        "",
        f"Recipe: {recipe['label']}; build arguments beyond the protocol's own: "
        f"`{' '.join(recipe['build_args']) or 'none'}`; build sources `{recipe['sources']}` (sha256 of the files "
        f"`trainer/build.py` imports), commit `{recipe.get('commit')}`; {meta['embedder']}. Command: `{command}`.",
        "",
        f"What it measures: {what} Every router is scored as in `npm run eval` (docs/benchmarks/README.md): "
        f"{meta['w_grid']} preference settings (a pair's policy also between any two where its share of strong "
        "calls jumps by over 1%), the policy as served (int8, the worker's decision core), baselines "
        "on the served embedding (kNN also on TF-IDF), metrics and cost model of `shared/data/README.md`. "
        f"Intervals: paired bootstrap over the test prompts ({meta['bootstrap']['n']} resamples, "
        f"{meta['bootstrap']['level']:.0%}).",
        "",
        "## Summary",
        "",
        *summary_rows(results),
        "",
        "Target: " + ("policy AIQ at least every baseline's (kNN on the served embedding and on TF-IDF, RouteLLM-MF, "
                      f"SW ranking, per-category, IRT-lambda) minus {AIQ_SLACK}, and its saving vs the hull at least "
                      "kNN's, on every dataset with 3 or more models; the policy's APGR on RouteLLM's pair at least SW "
                      "ranking's on routellm-mmlu and routellm-gsm8k." if protocol == "byod" else
                      "policy AIQ at least the single-model hull's on every dataset, with identities from the full "
                      "train split and from the quiz."),
        "",
    ]
    if plot_name:
        lines += [f"![{protocol}]({plot_name})", ""]
    pairs = pair_rows(results)
    if len(pairs) > 2:
        lines += ["## Binary pairs (APGR; random = 0.5)", "", *pairs, ""]
    if bundles or meta.get("failed"):
        example = next(iter(bundles.values()), None)
        lines += ["## Bundles", ""]
        if example is not None:
            lines += [f"Built in the work folder by the build's own entry point, e.g. `{example['command']}`; "
                      "build seconds are the first build's (later runs reuse the bundle under the same key).", ""]
        lines += ["| dataset | version | key | build seconds |", "|---|---|---|---:|"]
        lines += [f"| {n} | `{b['version']}` | `{b['key']}` | {b['build_seconds']} |" for n, b in bundles.items()]
        lines += [f"| {n} | failed: {err} | - | - |" for n, err in meta.get("failed", {}).items()]
        lines.append("")
    lines += ["## Per dataset", ""]
    lines += [dataset_table(n, b) for n, b in results["datasets"].items()]
    return "\n".join(lines) + "\n"


def protocol_plot(results: dict[str, Any], path: Path) -> None:
    """AIQ over the single-model hull per dataset: the policy (90% bootstrap interval), the best
    baseline and kNN.

    @example
        protocol_plot(res, Path("docs/benchmarks/generalisation-byod.png"))
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["datasets"])
    blocks = [results["datasets"][n] for n in names]
    pol = np.array([b["routers"]["policy"]["aiq"] - b["hull_aiq"] for b in blocks])
    ci = [b.get("bootstrap", {}).get("policy_minus_hull_aiq") or [d, d] for b, d in zip(blocks, pol)]
    err = np.array([[d - lo, hi - d] for d, (lo, hi) in zip(pol, ci)]).T
    best = np.array([max(_baselines(b).values()) - b["hull_aiq"] for b in blocks])
    knn = np.array([(b["routers"].get("knn", {}).get("aiq") or b["hull_aiq"]) - b["hull_aiq"] for b in blocks])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(names) + 1.6), dpi=110)
    ax.barh(y - 0.27, pol, 0.26, xerr=err, color="crimson", label="policy (90% CI)", capsize=2)
    ax.barh(y, best, 0.26, color="tab:purple", label="best baseline")
    ax.barh(y + 0.27, knn, 0.26, color="tab:orange", label="kNN (served embedding)")
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("AIQ minus the single-model hull's (test split)")
    ax.set_title(f"generalisation protocol {results['meta']['protocol']}: {results['meta']['recipe']['label']}",
                 fontsize=9)
    save_figure(fig, ax, path)


def comparison_rows(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Two runs of one protocol side by side (e.g. two recipes): per dataset the policy's AIQ,
    saving vs the hull, pair APGR and the target, before and after.

    @example
        print("\n".join(comparison_rows(json.loads(a.read_text()), json.loads(b.read_text()))))
    """
    protocol = after["meta"]["protocol"]
    target = (lambda n, b: byod_target(n, b)) if protocol == "byod" else (lambda n, b: loo_target(b))
    lines = [
        "| dataset | hull AIQ | policy AIQ before | after | change | saves vs hull before | after (kNN's) | "
        "pair APGR before | after (SW ranking's) | target before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, b in after["datasets"].items():
        a = before["datasets"].get(name)
        if a is None:
            continue
        pa, pb = a["routers"]["policy"]["aiq"], b["routers"]["policy"]["aiq"]
        ap = lambda blk: blk["routers"].get("policy_pair", {}).get("apgr")  # noqa: E731
        sw = b["routers"].get("sw_ranking", {}).get("apgr")
        lines.append(
            f"| {name} | {b['hull_aiq']:.4f} | {pa:.4f} | {pb:.4f} | {pb - pa:+.4f} | "
            f"{_fmt(a['savings_vs'].get('hull'), True)} | {_fmt(b['savings_vs'].get('hull'), True)} "
            f"({_fmt(b.get('knn_saves_vs_hull'), True)}) | {_fmt(ap(a))} | {_fmt(ap(b))} ({_fmt(sw)}) | "
            f"{target(name, a)} | {target(name, b)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m trainer.eval.protocol_report --compare BEFORE.json AFTER.json``: the comparison table.

    @example
        main(["--compare", "docs/benchmarks/generalisation-runs/byod-before.json", "/tmp/byod.json"])
    """
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m trainer.eval.protocol_report", description=comparison_rows.__doc__)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), required=True,
                    help="two --json outputs of the same protocol")
    args = ap.parse_args(argv)
    before, after = (json.loads(p.read_text()) for p in args.compare)
    if before["meta"]["protocol"] != after["meta"]["protocol"]:
        ap.error("the two runs are of different protocols")
    print("\n".join(comparison_rows(before, after)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Builds a quiz bank for a bundle: item ids, IRT item parameters under the served head, and (for
R2) prompt text and reference answers.

    python -m trainer.onboard.bank --mmlu-pro                     # our bank: mmlu-pro train split
    python -m trainer.onboard.bank --prompts my/prompts.jsonl --name support-faq --prior-models a,b,c
    ... --upload-local                                            # put it into local R2 for `npm start`

Sources: the mmlu-pro train split read from ``../shared/data`` at run time (reference = the answer
letter), or an operator's ``prompts.jsonl`` in the bring-your-own-data format
(``{"id", "prompt", "reference"?}`` per line). The bank also carries the prior a quiz on it starts
from (:mod:`.prior`): for mmlu-pro, the bundle's mmlu-pro models (cold-start models left out); for
an operator's bank, the bundle models named by ``--prior-models`` (those that answered prompts like
these), else none and the worker uses the bundle's ``irt.prior``. The output ``banks/<bundle>/<name>.json`` is what
``GET /admin/models/{id}/quiz?bank=<name>`` reads; it is written under ``model-assets/.cache``
(git-ignored): prompt text of third-party data is never committed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ..data.byod import read_prompts
from ..paths import CACHE_DIR, DATA_ROOT, PROJECT_ROOT, default_bundle
from .items import ItemBank
from .prior import Prior, dataset_prior, prior_from_models
from .served import log, served_items

#: The R2 bucket of wrangler.toml (binding ASSETS).
BUCKET = "edge-llm-router-assets"


def mmlu_pro_source(data_root: Path = DATA_ROOT) -> tuple[list[str], list[str], list[str | None]]:
    """(ids, prompt texts, answer letters) of the mmlu-pro train split, prompts as the data README
    formats them (question, then "A. ..." options) - the same text the router is trained on.

    @example
        ids, prompts, refs = mmlu_pro_source()
    """
    from ..data import load_dataset

    table = load_dataset("mmlu-pro", data_root)
    answers: dict[str, str] = {}
    with open(Path(data_root) / "mmlu-pro" / "mmlu_pro_questions.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            answers[str(q["question_id"])] = str(q["answer"])
    rows = [i for i, s in enumerate(table.split) if s == "train"]
    ids = [table.prompt_ids[i] for i in rows]
    return ids, [table.prompts[i] for i in rows], [answers.get(i) for i in ids]


def byod_source(path: Path) -> tuple[list[str], list[str], list[str | None]]:
    """(ids, prompts, references) of a bring-your-own-data ``prompts.jsonl`` (the pipeline's own
    reader, :func:`trainer.data.byod.read_prompts`); every bad line raises ``ValueError`` naming
    file and line.

    @example
        ids, prompts, refs = byod_source(Path("my-evals/prompts.jsonl"))
    """
    ids, prompts, _, refs = read_prompts(path)
    return ids, prompts, refs


def build_bank(bundle: Path, name: str, ids: list[str], prompts: list[str], refs: list[str | None],
               cache: Path | None = CACHE_DIR / "onboard", source: str = "", prior: Prior | None = None) -> ItemBank:
    """Item parameters of every prompt under ``bundle`` (served embedder + irt.onnx), and the
    ``prior`` a quiz on the bank starts from (None: the bundle's ``irt.prior``).

    @example
        bank = build_bank(Path("model-assets/bundles/v1"), "default", *mmlu_pro_source())
    """
    manifest = json.loads((bundle / "manifest.json").read_text())
    served = served_items(bundle, prompts, cache)
    return ItemBank(ids=ids, a=served.a, c=served.c, bundle_version=str(manifest["version"]), name=name,
                    prompts=prompts, references=refs,
                    meta={"source": source, "items": len(ids), "with_reference": sum(r is not None for r in refs)},
                    prior=prior)


def upload_local(path: Path, key: str, persist_to: Path | None = None) -> None:
    """Puts the bank into the local R2 of ``wrangler dev --local`` (what ``npm start`` serves)."""
    cmd = ["npx", "--no-install", "wrangler", "r2", "object", "put", f"{BUCKET}/{key}", "--file", str(path), "--local"]
    if persist_to is not None:
        cmd += ["--persist-to", str(persist_to)]
    subprocess.run(cmd, cwd=PROJECT_ROOT, check=True)


def bank_prior_for(bundle: Path, mmlu_pro: bool, prior_models: str | None) -> Prior | None:
    """The prior a bank stores: of ``prior_models`` if named, else of the bundle's mmlu-pro models
    for the mmlu-pro bank (cold-start models left out), else none.

    @example
        prior = bank_prior_for(Path("model-assets/bundles/v1"), True, None)
    """
    from ..data import COLD_START_MODELS

    manifest = json.loads((bundle / "manifest.json").read_text())
    if prior_models:
        return prior_from_models(manifest, [m.strip() for m in prior_models.split(",") if m.strip()],
                                 source=f"models named for bank (bundle {manifest.get('version')})")
    return dataset_prior(manifest, "mmlu-pro", exclude=COLD_START_MODELS) if mmlu_pro else None


def main(argv: list[str] | None = None) -> int:

    ap = argparse.ArgumentParser(prog="python -m trainer.onboard.bank", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--mmlu-pro", action="store_true", help="the mmlu-pro train split from ../shared/data")
    src.add_argument("--prompts", type=Path, help="bring-your-own-data prompts.jsonl (id, prompt, reference?)")
    ap.add_argument("--name", default="default", help="bank name (default: default)")
    ap.add_argument("--bundle", type=Path, help="bundle folder (default: model-assets/bundles/$(cat DEFAULT))")
    ap.add_argument("--out", type=Path, help="output file (default: model-assets/.cache/banks/<bundle>/<name>.json)")
    ap.add_argument("--no-text", action="store_true", help="ids and numbers only (the form a bundle may ship)")
    ap.add_argument("--upload-local", action="store_true",
                    help="also put it into local R2 as banks/<bundle>/<name>.json")
    ap.add_argument("--persist-to", type=Path, help="wrangler --persist-to for --upload-local")
    ap.add_argument("--prior-models", help="comma-separated bundle models whose identities make the bank's prior "
                                           "(default: the mmlu-pro models for --mmlu-pro, none for --prompts)")
    ap.add_argument("--population-prior", action="store_true", help="store no bank prior: quizzes start from the "
                                                                    "bundle's irt.prior")
    args = ap.parse_args(argv)
    bundle = args.bundle or default_bundle()
    if bundle is None or not (Path(bundle) / "manifest.json").exists():
        ap.error("no bundle: pass --bundle or commit one named in model-assets/bundles/DEFAULT")
    bundle = Path(bundle)
    try:
        ids, prompts, refs = mmlu_pro_source() if args.mmlu_pro else byod_source(args.prompts)
        prior = None if args.population_prior else bank_prior_for(bundle, args.mmlu_pro, args.prior_models)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bank = build_bank(bundle, args.name, ids, prompts, refs,
                      source="mmlu-pro train split" if args.mmlu_pro else str(args.prompts),
                      prior=prior)
    key = f"banks/{bank.bundle_version}/{args.name}.json"
    out = args.out or CACHE_DIR / key
    bank.save(out, with_text=not args.no_text)
    log(f"wrote {out}: {len(bank)} items, d={bank.dim}, {bank.meta['with_reference']} with a reference answer; "
        + (f"prior of {len(prior.models)} models" if prior else "no bank prior (the bundle's irt.prior)"))
    if args.upload_local:
        upload_local(out, key, args.persist_to)
        log(f"uploaded to local R2 as {BUCKET}/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

/**
 * Quiz banks: the JSON written by `model-assets/trainer/onboard/items.py` (`ItemBank.to_json`):
 * item ids with IRT item parameters under one bundle, and, for banks an operator uploads, the
 * prompt text and an optional reference answer per item. Runtime-agnostic (the offline CLI uses
 * it too); reading from R2 is in bank-r2.ts.
 */
import { z } from 'zod';
import { ApiError } from '../errors';
import { packItems, type GaussianPrior, type ItemParams } from './items';
import { priorProblem } from './prior';

const itemSchema = z.object({
  id: z.union([z.string().min(1), z.number().int()]).transform(String),
  a: z.array(z.number().finite()),
  c: z.number().finite(),
  prompt: z.string().optional(),
  reference: z.string().nullish(),
});

/** The population of models that answered the bank (model-assets/trainer/onboard/prior.py). */
const bankPriorSchema = z.object({
  mean: z.array(z.number().finite()),
  cov: z.array(z.array(z.number().finite())),
  models: z.array(z.string()).default([]),
  source: z.string().default(''),
});

export const bankSchema = z.object({
  format: z.literal(1),
  name: z.string().default(''),
  bundle_version: z.string().default(''),
  identity_dim: z.number().int().positive(),
  meta: z.record(z.string(), z.unknown()).default({}),
  prior: bankPriorSchema.nullish(), // null, as absent: the bundle's prior
  items: z.array(itemSchema).min(1),
});

/** One bank item as the service sees it. */
export interface BankItem {
  id: string;
  prompt?: string;
  reference?: string;
}

/** A bank ready for selection: item parameters plus ids/text, and a row lookup by id. */
export interface Bank {
  name: string;
  bundleVersion: string;
  key: string;
  params: ItemParams;
  items: BankItem[];
  rowOf: Map<string, number>;
  /** Where a quiz on this bank starts: the bank's population, when it names one. */
  prior?: GaussianPrior & { models: string[]; source: string };
}

/**
 * The bank is missing (404 `bank_not_found`) or unusable (422 `bank_invalid`), never a 500.
 *
 * @example
 * throw bankError(`no quiz bank "x" for bundle v1`, 404);
 */
export function bankError(message: string, status: 404 | 422): ApiError {
  return new ApiError(status, message, {
    code: status === 404 ? 'bank_not_found' : 'bank_invalid',
    param: 'bank',
  });
}

/** Bank names are single path segments. */
export const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks and indexes a parsed bank object; throws a 422 `bankError` when it breaks the format.
 *
 * @example
 * const bank = parseBank(JSON.parse(text), 'banks/v1/default.json', 16);
 * bank.params.count; // number of items
 */
export function parseBank(raw: unknown, key: string, identityDim: number): Bank {
  const r = bankSchema.safeParse(raw);
  if (!r.success) throw bankError(`bank ${key} is malformed: ${z.prettifyError(r.error)}`, 422);
  const bank = r.data;
  if (bank.identity_dim !== identityDim) {
    throw bankError(
      `bank ${key} has identity_dim ${bank.identity_dim}, the bundle has ${identityDim}`,
      422,
    );
  }
  const rowOf = new Map<string, number>();
  bank.items.forEach((it, i) => {
    if (rowOf.has(it.id)) throw bankError(`bank ${key} repeats item id ${it.id}`, 422);
    rowOf.set(it.id, i);
  });
  let params: ItemParams;
  try {
    params = packItems(
      bank.items.map((it) => it.a),
      bank.items.map((it) => it.c),
    );
  } catch (e) {
    throw bankError(`bank ${key}: ${e instanceof Error ? e.message : 'bad item parameters'}`, 422);
  }
  if (params.dim !== identityDim)
    throw bankError(
      `bank ${key} items have ${params.dim} components, expected ${identityDim}`,
      422,
    );
  const items = bank.items.map((it) => ({
    id: it.id,
    ...(it.prompt !== undefined ? { prompt: it.prompt } : {}),
    ...(it.reference ? { reference: it.reference } : {}),
  }));
  const { prior } = bank;
  const problem = prior && priorProblem(prior, identityDim);
  if (problem) throw bankError(`bank ${key}: prior ${problem}`, 422);
  return {
    name: bank.name,
    bundleVersion: bank.bundle_version,
    key,
    params,
    items,
    rowOf,
    ...(prior ? { prior } : {}),
  };
}

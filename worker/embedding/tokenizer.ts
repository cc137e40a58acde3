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
      const tailStart = offsetOfCodePoint(text, total - (spec.max_code_points - spec.head_code_points));
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

/** FNV-1a 32 over the UTF-8 bytes of `prefix + text`, encoded on the fly (no allocation). */
function fnv1a32(prefix: string, text: string, seed: number): number {
  let h = seed >>> 0;
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate (never reaches here: step 3 drops them)
      if (c < 0x80) {
        h = Math.imul(h ^ c, FNV_PRIME);
      } else if (c < 0x800) {
        h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      } else if (c < 0x10000) {
        h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      } else {
        h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      }
    }
  };
  feed(prefix);
  feed(text);
  return h >>> 0;
}

/**
 * Hashes a text into `spec.max_tokens` bucket ids (int64, 0 = padding) for `embedder.onnx`.
 * An empty or whitespace-only text gives all zeros (the embedder's defined "empty" vector).
 * @example
 * const ids = tokenize('What is the capital of France?', spec);
 * ids.length === spec.max_tokens; // true
 */
export function tokenize(text: string, spec: TokenizerSpec): BigInt64Array {
  const out = new BigInt64Array(spec.max_tokens);
  const cap = spec.max_tokens;
  const mod = spec.buckets - 1;
  const seed = spec.seed;
  const ws = words(text, spec);
  let n = 0;
  const push = (prefix: string, feature: string): boolean => {
    if (n >= cap) return false;
    out[n++] = BigInt(1 + (fnv1a32(prefix, feature, seed) % mod));
    return true;
  };
  for (const kind of spec.features) {
    if (n >= cap) break;
    if (kind === 'word') {
      for (const w of ws) if (!push('w:', w)) break;
    } else if (kind === 'bigram') {
      for (let i = 1; i < ws.length; i++) if (!push('b:', `${ws[i - 1]} ${ws[i]}`)) break;
    } else if (kind === 'char') {
      for (const w of ws) {
        if (n >= cap) break;
        const cps = Array.from(w);
        if (cps.length < 2 || cps.length > spec.char_ngram_max_word) continue;
        const padded = ['<', ...cps, '>'];
        for (const size of spec.char_ngrams) {
          for (let i = 0; i + size <= padded.length; i++) {
            if (!push('c:', padded.slice(i, i + size).join(''))) break;
          }
        }
      }
    } else {
      throw new Error(`unknown tokenizer feature: ${String(kind)}`);
    }
  }
  return out;
}

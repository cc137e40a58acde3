// The worker's tokenizer, run inside workerd (its own ICU and regex engine), gives exactly the ids
// of the Python tokenizer on the golden cases (test/model-assets/embed/golden.py writes them and a
// pytest keeps them current).
import { describe, expect, it } from 'vitest';
import { tokenize, words, type TokenizerSpec } from '../../../worker/embedding/tokenizer';
import golden from './tokenizer-golden.json';

/** A text as code points (lone surrogates included), repeated `times` times. */
type Case = { cps: number[]; times: number; ids: number[] };
const spec = golden.spec as TokenizerSpec;
const cases = golden.cases as Case[];

function expand(c: Case): string {
  return String.fromCodePoint(...c.cps).repeat(c.times);
}

describe('tokenizer (workerd)', () => {
  it('matches the Python tokenizer on every golden case', () => {
    expect(cases.length).toBeGreaterThan(50);
    const bad: string[] = [];
    for (const c of cases) {
      const ids = tokenize(expand(c), spec);
      expect(ids.length).toBe(spec.max_tokens);
      const got = Array.from(ids)
        .filter((v) => v !== 0n)
        .map(Number);
      const padding = Array.from(ids.subarray(got.length)).every((v) => v === 0n);
      if (!padding || JSON.stringify(got) !== JSON.stringify(c.ids))
        bad.push(JSON.stringify(expand(c).slice(0, 60)));
    }
    expect(bad).toEqual([]);
  });

  it('gives all padding for empty and whitespace-only prompts', () => {
    for (const text of ['', '   ', '\n\t\u200b', '\u00a0\u3000']) {
      expect(tokenize(text, spec).every((v) => v === 0n)).toBe(true);
    }
  });

  it('cuts long inputs to head and tail words', () => {
    const many = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ');
    const ws = words(many, spec);
    expect(ws.length).toBe(spec.max_words);
    expect(ws[0]).toBe('w0');
    expect(ws[ws.length - 1]).toBe('w1999');
  });
});

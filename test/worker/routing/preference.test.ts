// Preferences: numbers pass through, preset names stay names until the bundle's presets resolve
// them (calibrated per bundle; bundles without them keep 0 / 0.5 / 1).
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../worker/bundle/manifest';
import { ApiError } from '../../../worker/errors';
import {
  DEFAULT_PRESETS,
  parsePreference,
  resolvePreference,
} from '../../../worker/routing/preference';

describe('parsePreference', () => {
  it('keeps numbers and preset names, rejects anything else with a 400', () => {
    expect(parsePreference(0.25, 'p')).toBe(0.25);
    expect(parsePreference(' 0.4 ', 'p')).toBe(0.4);
    expect(parsePreference(' Balanced ', 'p')).toBe('balanced');
    expect(parsePreference(undefined, 'p')).toBeUndefined();
    for (const bad of ['', 'fast', {}, Number.NaN]) {
      expect(() => parsePreference(bad, 'router.preference')).toThrow(ApiError);
    }
    expect(() => parsePreference(1.5, 'p')).toThrow(/outside \[0, 1\]/);
  });

  it('reads a string only as a plain decimal: hex, binary, exponents, Infinity and blanks are 400s', () => {
    for (const bad of [
      '0x1',
      '0b1',
      '0o1',
      '1e999',
      '1e-1',
      '5E-1',
      'Infinity',
      '-Infinity',
      'NaN',
      ' ',
      '\t',
      '.',
      '1.',
      '+0.5',
      '0.5.1',
      '1_0',
      '٠.5',
    ]) {
      let caught: unknown;
      try {
        parsePreference(bad, 'x-router-preference');
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(bad)).toBeInstanceOf(ApiError);
      expect((caught as ApiError).status).toBe(400);
      expect((caught as ApiError).code).toBe('invalid_preference');
      expect((caught as ApiError).param).toBe('x-router-preference');
    }
    expect(parsePreference('0.3', 'p')).toBe(0.3);
    expect(parsePreference('.25', 'p')).toBe(0.25);
    expect(parsePreference('1', 'p')).toBe(1);
    expect(parsePreference('0', 'p')).toBe(0);
    expect(parsePreference('1.000', 'p')).toBe(1);
    // A negative or too-large plain decimal is a number, just out of range.
    expect(() => parsePreference('-0.1', 'p')).toThrow(/outside \[0, 1\]/);
    expect(() => parsePreference('2', 'p')).toThrow(/outside \[0, 1\]/);
    // JSON numbers stay numbers, whatever notation the JSON used (1e-1 parses to 0.1 before we see it).
    expect(parsePreference(JSON.parse('1e-1') as number, 'p')).toBe(0.1);
    expect(() => parsePreference(Number.POSITIVE_INFINITY, 'p')).toThrow(ApiError);
  });

  it('does not echo a long preference string back', () => {
    const long = `0x${'f'.repeat(100_000)}`;
    let caught: unknown;
    try {
      parsePreference(long, 'p');
    } catch (e) {
      caught = e;
    }
    expect((caught as ApiError).message.length).toBeLessThan(200);
  });
});

describe('resolvePreference', () => {
  const presets = { cheap: 0.05, balanced: 0.86, quality: 1 };
  it('reads presets from the bundle, the defaults without them; numbers stay as given', () => {
    expect(resolvePreference('balanced', presets)).toBe(0.86);
    expect(resolvePreference('cheap', presets)).toBe(0.05);
    expect(resolvePreference('balanced', undefined)).toBe(DEFAULT_PRESETS.balanced);
    expect(resolvePreference(0.3, presets)).toBe(0.3);
  });

  it('is fed by manifest.policy.presets, which must be ordered and inside [0, 1]', () => {
    const base = {
      format: 1,
      version: 'v',
      identity_dim: 2,
      embedding: { space: 's', dim: 4, provider: 'dev' },
      files: {
        irt: { key: 'k', bytes: 1, sha256: 'a'.repeat(64) },
        policy: { key: 'k', bytes: 1, sha256: 'a'.repeat(64) },
      },
      models: [],
    };
    const withPresets = (p: unknown) => ({
      ...base,
      policy: {
        features: [
          { name: 'p_success', size: 1 },
          { name: 'cost_rel', size: 1 },
        ],
        presets: p,
      },
    });
    expect(parseManifest(withPresets(presets)).policy.presets).toEqual(presets);
    expect(() => parseManifest(withPresets({ cheap: 0.9, balanced: 0.5, quality: 1 }))).toThrow();
    expect(() => parseManifest(withPresets({ cheap: 0, balanced: 1.2, quality: 1 }))).toThrow();
    expect(parseManifest(withPresets(undefined)).policy.presets).toBeUndefined();
  });
});

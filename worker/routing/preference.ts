/**
 * The caller's quality-versus-cost preference w in [0, 1] (0 = cheapest candidate, 1 = best
 * quality regardless of cost), from a number or a preset name.
 *
 * Presets name operating points, not numbers: what w a point needs depends on the bundle's policy
 * (w acts as a price, so w = 0.5 buys a small share of the best model's quality). So a preset
 * stays a name until the request's bundle is known, and `resolvePreference` reads the bundle's
 * calibrated value (`policy.presets` in its manifest), falling back to `DEFAULT_PRESETS`.
 */
import { badRequest } from '../errors';

export const PRESET_NAMES = ['cheap', 'balanced', 'quality'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
/** A preference as the caller gave it: a number in [0, 1] or a preset name. */
export type Preference = number | PresetName;
export type Presets = Readonly<Record<PresetName, number>>;

/** For bundles without calibrated presets. */
export const DEFAULT_PRESETS: Presets = { cheap: 0, balanced: 0.5, quality: 1 };

function isPreset(text: string): text is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(text);
}

/**
 * A plain decimal (optional minus, digits, optional fraction). `Number()` alone would also take
 * "0x1", "0b1", "1e-1", "Infinity" and blanks, none of which a caller means as a preference.
 */
const PLAIN_DECIMAL = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * Parses a preference given as a number, a plain decimal string ("0.3", ".25"; surrounding
 * whitespace ignored) or a preset; undefined stays undefined. Anything else (hex, binary,
 * exponents such as "1e-1", "Infinity", blanks), or a number outside [0, 1], is a 400 naming `param`.
 *
 * @example
 * parsePreference('Quality', 'x-router-preference'); // 'quality'
 * parsePreference(0.25, 'router.preference');         // 0.25
 */
export function parsePreference(raw: unknown, param: string): Preference | undefined {
  if (raw === undefined || raw === null) return undefined;
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (isPreset(text)) return text;
    value = PLAIN_DECIMAL.test(text) ? Number(text) : Number.NaN;
  } else value = Number.NaN;
  if (!Number.isFinite(value)) {
    throw badRequest(
      `${param} must be a number in [0, 1] or one of ${PRESET_NAMES.join(', ')}`,
      param,
      'invalid_preference',
    );
  }
  if (value < 0 || value > 1)
    throw badRequest(`${param} ${value} is outside [0, 1]`, param, 'preference_out_of_range');
  return value;
}

/**
 * The w to route with: a number as given, a preset from the bundle's presets (or the defaults).
 *
 * @example
 * resolvePreference('balanced', manifest.policy.presets); // e.g. 0.86 for a calibrated bundle
 * resolvePreference(0.3, undefined);                       // 0.3
 */
export function resolvePreference(preference: Preference, presets: Presets | undefined): number {
  return typeof preference === 'number' ? preference : (presets ?? DEFAULT_PRESETS)[preference];
}

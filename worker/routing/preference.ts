/**
 * The caller's quality-versus-cost preference w in [0, 1] (0 = cheapest acceptable, 1 = best
 * quality regardless of cost), from a number or a preset name.
 */
import { badRequest } from '../errors';

export const PRESETS: Readonly<Record<string, number>> = { cheap: 0, balanced: 0.5, quality: 1 };

/**
 * Parses a preference given as a number, a numeric string or a preset; undefined stays undefined.
 * Anything else, or a number outside [0, 1], is a 400 naming `param`.
 *
 * @example
 * parsePreference('quality', 'x-router-preference'); // 1
 * parsePreference(0.25, 'router.preference');         // 0.25
 */
export function parsePreference(raw: unknown, param: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    const preset = PRESETS[text];
    value = preset !== undefined ? preset : text === '' ? Number.NaN : Number(text);
  } else value = Number.NaN;
  if (!Number.isFinite(value)) {
    throw badRequest(`${param} must be a number in [0, 1] or one of ${Object.keys(PRESETS).join(', ')}`, param, 'invalid_preference');
  }
  if (value < 0 || value > 1) throw badRequest(`${param} ${value} is outside [0, 1]`, param, 'preference_out_of_range');
  return value;
}

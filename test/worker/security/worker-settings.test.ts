// A model's secret_name must never name one of the worker's plain vars or bindings (their values
// would be sent upstream as a key). The list in worker/env.ts must cover wrangler.toml exactly.
import { describe, expect, it } from 'vitest';
import wranglerToml from '../../../wrangler.toml?raw';
import { WORKER_SECRETS, WORKER_SETTING_NAMES, isWorkerSetting } from '../../../worker/env';

/** Keys of the [vars] table, every `binding = "..."` (commented-out optional ones too) and the
 * `name` of each `[[ratelimits]]` binding. */
function settingsOf(toml: string): string[] {
  const names = new Set<string>();
  let section = '';
  for (const line of toml.split('\n')) {
    const header = /^\s*\[+([^\]]+)\]+/.exec(line);
    if (header) section = header[1]!.trim();
    const v = /^\s*([A-Z][A-Z0-9_]*)\s*=/.exec(line);
    if (section === 'vars' && v) names.add(v[1]!);
    const b = /^\s*#?\s*binding\s*=\s*"([A-Za-z0-9_]+)"/.exec(line);
    if (b) names.add(b[1]!);
    const r = /^\s*name\s*=\s*"([A-Za-z0-9_]+)"/.exec(line);
    if (section === 'ratelimits' && r) names.add(r[1]!);
  }
  return [...names].sort();
}

describe('worker settings', () => {
  it("the list is exactly the vars and bindings of wrangler.toml and the worker's own secrets", () => {
    const fromToml = settingsOf(wranglerToml);
    expect(fromToml).toEqual(
      expect.arrayContaining(['DB', 'ASSETS', 'AI', 'DEFAULT_BUNDLE', 'UPSTREAM_TIMEOUT_MS']),
    );
    // The operator token is a secret (wrangler secret put), so wrangler.toml cannot list it; a model
    // naming it as its secret_name would send the operator's token upstream.
    expect([...WORKER_SECRETS]).toEqual(['OPERATOR_TOKEN']);
    expect([...WORKER_SETTING_NAMES]).toEqual([...fromToml, ...WORKER_SECRETS].sort());
  });

  it('isWorkerSetting knows them and nothing else', () => {
    for (const name of WORKER_SETTING_NAMES) expect(isWorkerSetting(name)).toBe(true);
    for (const name of [
      'OPENAI_API_KEY',
      'STANDIN_API_KEY',
      'constructor',
      'toString',
      '__proto__',
      '',
    ])
      expect(isWorkerSetting(name)).toBe(false);
  });
});

// The config-as-code core (worker/config-file, TypeScript shared with the worker's tests), loaded
// into Node with tsx's loader, once per process.
import { tsImport } from 'tsx/esm/api';

let core = null;

/**
 * The module worker/config-file/index.ts: prepareConfig, formatPlan, formatError, statementSql,
 * parseState, STATE_QUERIES, configJsonSchema.
 *
 * @example
 * const { prepareConfig } = await configCore();
 */
export async function configCore() {
  core ??= await tsImport('../../worker/config-file/index.ts', import.meta.url);
  return core;
}

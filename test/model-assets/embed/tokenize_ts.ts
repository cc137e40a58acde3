// Helper of the tokenizer parity test: runs the worker's TypeScript tokenizer under Node (tsx).
// Reads {"spec": TokenizerSpec, "texts": string[]} (JSON file argv[2]), writes the non-padding ids
// of each text as JSON lines to argv[3].
import { readFileSync, writeFileSync } from 'node:fs';
import { tokenize, type TokenizerSpec } from '../../../worker/embedding/tokenizer';

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  spec: TokenizerSpec;
  texts: string[];
};
const lines: string[] = [];
for (const text of input.texts) {
  const ids = tokenize(text, input.spec);
  const row: number[] = [];
  for (const id of ids) if (id !== 0n) row.push(Number(id));
  lines.push(JSON.stringify(row));
}
writeFileSync(process.argv[3]!, lines.join('\n') + '\n');

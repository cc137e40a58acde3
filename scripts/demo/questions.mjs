// The demo's traffic: mmlu-pro test-split questions (question_id % 5 == 0, as the benchmark's split)
// from ../shared/data, each with the recorded outcome (1 correct, 0 wrong) of every model that
// answered it, so that a request's feedback can be the true outcome of the model that served it.
// Read at run time; nothing from the data is kept in the project.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The prompt text of an mmlu-pro item as the data README defines it: the question, then its
 * options one per line as "A. ...", "B. ...".
 *
 * @example
 * promptText({ question: 'Q?', options: ['x', 'y'] }); // 'Q?\nA. x\nB. y'
 */
export function promptText(item) {
  const letters = 'ABCDEFGHIJKLMNOP';
  return [item.question, ...item.options.map((o, i) => `${letters[i]}. ${o}`)].join('\n');
}

/**
 * Parses mmlu_pro_correctness.csv: question_id -> { <model column>: 0 | 1 } (blank = no record,
 * left out).
 *
 * @example
 * parseOutcomes('question_id,category,src,m1\n5,x,y,1\n').get(5); // { m1: 1 }
 */
export function parseOutcomes(csv) {
  const [header, ...lines] = csv.trim().split('\n');
  const cols = header.split(',');
  const out = new Map();
  for (const line of lines) {
    const cells = line.split(',');
    const row = {};
    for (let i = 3; i < cols.length; i++) {
      const v = cells[i]?.trim();
      if (v === '0' || v === '1') row[cols[i]] = Number(v);
    }
    out.set(Number(cells[0]), row);
  }
  return out;
}

/**
 * Up to `n` test-split questions, in file order, each `{ id, prompt, outcomes }`; throws with the
 * folder when the data is not there.
 *
 * @example
 * const qs = loadQuestions(dataRoot(), 1000);
 * qs[0].outcomes['gpt-4o_dir-gpt4o']; // 1
 */
export function loadQuestions(dataDir, n) {
  const dir = path.join(dataDir, 'mmlu-pro');
  const qFile = path.join(dir, 'mmlu_pro_questions.jsonl');
  const cFile = path.join(dir, 'mmlu_pro_correctness.csv');
  if (!existsSync(qFile) || !existsSync(cFile))
    throw new Error(`mmlu-pro data not found in ${dir} (set ROUTER_DATA)`);
  const outcomes = parseOutcomes(readFileSync(cFile, 'utf8'));
  const out = [];
  for (const line of readFileSync(qFile, 'utf8').split('\n')) {
    if (out.length >= n) break;
    if (!line.trim()) continue;
    const item = JSON.parse(line);
    if (item.question_id % 5 !== 0) continue;
    out.push({
      id: item.question_id,
      prompt: promptText(item),
      outcomes: outcomes.get(item.question_id) ?? {},
    });
  }
  return out;
}

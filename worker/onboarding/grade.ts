/**
 * Grading a model's quiz answer against a bank item's reference, for the quiz the worker runs
 * itself. A single-letter reference (multiple choice, e.g. mmlu-pro's "A".."J") is compared with
 * the letter the answer commits to ("the answer is (C)", "Answer: C", or a bare leading "C");
 * any other reference counts as correct when the normalised answer equals or contains it.
 */

const CHOICE = /^[A-Z]$/;
/** "answer is (C)", "Answer: C", "answer is **C**": the last such phrase wins (models restate). */
const ANSWER_IS = /[Aa]nswer(?:\s+is)?\s*:?\s*\(?\*{0,2}([A-Z])(?![A-Za-z])/g;
/** A bare letter at the start: "C", "C.", "(C)", "C) because ...". */
const LEADING = /^\s*\(?\*{0,2}([A-Z])(?:\*{0,2}\s*$|[).:])/;

function normalise(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The choice letter an answer commits to, or null.
 *
 * @example
 * extractChoice('The answer is (C).'); // 'C'
 */
export function extractChoice(answer: string): string | null {
  let last: string | null = null;
  for (const m of answer.matchAll(ANSWER_IS)) last = m[1] ?? last;
  return last ?? LEADING.exec(answer)?.[1] ?? null;
}

/**
 * 1 when `answer` matches `reference`, else 0.
 *
 * @example
 * grade('Answer: B', 'B'); // 1
 * grade('Paris is the capital.', 'Paris'); // 1
 */
export function grade(answer: string, reference: string): 0 | 1 {
  const ref = reference.trim();
  if (CHOICE.test(ref.toUpperCase()) && ref.length === 1)
    return extractChoice(answer) === ref.toUpperCase() ? 1 : 0;
  const a = normalise(answer);
  const r = normalise(ref);
  return r.length > 0 && (a === r || ` ${a} `.includes(` ${r} `)) ? 1 : 0;
}

/**
 * The instruction appended to a multiple-choice quiz prompt so the answer can be graded.
 *
 * @example
 * quizMessage('Q?\nA. x\nB. y', 'B'); // '...Finish with "The answer is (X)".'
 */
export function quizMessage(prompt: string, reference: string | undefined): string {
  if (reference && CHOICE.test(reference.trim().toUpperCase()) && reference.trim().length === 1) {
    return `${prompt}\n\nThink briefly, then finish with "The answer is (X)" where X is the letter of the correct option.`;
  }
  return prompt;
}

// Relative links in the project's Markdown: every `[text](target)`, `![alt](target)` and
// `[label]: target` must name a file or folder that exists, and a `#fragment` on a Markdown target
// must name one of its headings. Docs move between files; a link left behind is found here, not by
// a reader.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const INLINE = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const REFERENCE = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/;
const EMBEDDED = 'docs/benchmarks/readme-section.md';
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The Markdown files whose links are checked: README.md, CHANGELOG.md, model-assets/README.md and
 * docs/ (recursively), relative to `root`. docs/benchmarks/readme-section.md is left out: it is a
 * block of the README, its paths relative to the repository root (the README check covers it).
 * @example
 * markdownFiles('/work/repo'); // ['README.md', 'CHANGELOG.md', 'model-assets/README.md', ...]
 */
export function markdownFiles(root) {
  const top = ['README.md', 'CHANGELOG.md', 'model-assets/README.md'].filter((f) =>
    existsSync(path.join(root, f)),
  );
  const walk = (dir) =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) return walk(rel);
      return e.isFile() && e.name.endsWith('.md') && rel !== EMBEDDED ? [rel] : [];
    });
  return [...top, ...(existsSync(path.join(root, 'docs')) ? walk('docs') : [])];
}

/** The lines of a Markdown text with fenced code blocks blanked (line numbers kept). */
function proseLines(text) {
  let fence = null;
  return text.split('\n').map((line) => {
    const open = /^\s*(```+|~~~+)/.exec(line);
    if (fence === null && open) fence = open[1][0];
    else if (fence !== null && open && open[1][0] === fence) fence = null;
    else if (fence === null) return line;
    return '';
  });
}

/**
 * Every link target in a Markdown text, with its line number (code spans and fences skipped).
 * @example
 * linkTargets('See [x](docs/a.md#b).'); // [{ target: 'docs/a.md#b', line: 1 }]
 */
export function linkTargets(text) {
  const out = [];
  proseLines(text)
    .map((line) => line.replace(/(`+)[^`]*?\1/g, ''))
    .forEach((line, i) => {
      for (const m of line.matchAll(INLINE)) out.push({ target: m[1], line: i + 1 });
      const ref = REFERENCE.exec(line);
      if (ref) out.push({ target: ref[1], line: i + 1 });
    });
  return out;
}

/**
 * GitHub's anchor of each heading in a Markdown text (lowercase, punctuation dropped, spaces to
 * dashes, `-1`, `-2` for repeats).
 * @example
 * headingAnchors('## Try it\n### Results (bundle x)'); // Set { 'try-it', 'results-bundle-x' }
 */
export function headingAnchors(text) {
  const seen = new Map();
  const anchors = new Set();
  for (const line of proseLines(text)) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = h[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/**
 * The relative links under `root` that do not resolve: a missing file or folder, or a fragment
 * that is not a heading of the Markdown file it points into.
 * @example
 * brokenLinks('/work/repo'); // [{ file: 'README.md', line: 12, target: 'docs/gone.md', reason: 'no such file' }]
 */
export function brokenLinks(root, files = markdownFiles(root)) {
  const broken = [];
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const { target, line } of linkTargets(text)) {
      if (EXTERNAL.test(target)) continue;
      const [rawPath, fragment] = target.split('#', 2);
      const rel = decodeURIComponent(rawPath.split('?')[0]);
      const resolved =
        rel === '' ? path.join(root, file) : path.join(root, path.dirname(file), rel);
      if (!existsSync(resolved)) {
        broken.push({ file, line, target, reason: 'no such file' });
        continue;
      }
      if (fragment && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!headingAnchors(readFileSync(resolved, 'utf8')).has(fragment.toLowerCase())) {
          broken.push({ file, line, target, reason: 'no such heading' });
        }
      }
    }
  }
  return broken;
}

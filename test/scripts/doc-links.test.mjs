// node --test: every relative link in README.md, CHANGELOG.md, model-assets/README.md and
// docs/**/*.md resolves (file, folder, and a heading when it names one), and the README's
// benchmark block is the generated one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  brokenLinks,
  headingAnchors,
  linkTargets,
  markdownFiles,
} from '../../scripts/doc-links.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A scratch repository with the given files. */
function scratch(files) {
  const dir = mkdtempSync(path.join(tmpdir(), 'doc-links-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

test('link targets: inline, image and reference links; code is not a link', () => {
  const text = [
    'See [a](docs/a.md#b) and ![p](img.png "title").',
    '`[not](a-link.md)`',
    '```',
    '[not](either.md)',
    '```',
    '[ref]: docs/c.md',
  ].join('\n');
  assert.deepEqual(linkTargets(text), [
    { target: 'docs/a.md#b', line: 1 },
    { target: 'img.png', line: 1 },
    { target: 'docs/c.md', line: 6 },
  ]);
});

test('heading anchors follow GitHub: punctuation dropped, repeats numbered', () => {
  const anchors = headingAnchors('# Top\n## Results (bundle `v1`, 2 min)\n## Top\n```\n# not\n```');
  assert.deepEqual([...anchors], ['top', 'results-bundle-v1-2-min', 'top-1']);
});

test('a missing file, a missing heading and a link out of docs/ are found', () => {
  const dir = scratch({
    'README.md':
      '[ok](docs/a.md#guide) [gone](docs/gone.md) [bad anchor](docs/a.md#nope) [web](https://x.test/y)',
    'docs/a.md': '# Guide\n[up](../README.md) [here](#guide) [there](sub/b.md) [folder](sub)',
    'docs/sub/b.md': '[back](../a.md) [wrong](a.md)',
  });
  assert.deepEqual(brokenLinks(dir), [
    { file: 'README.md', line: 1, target: 'docs/gone.md', reason: 'no such file' },
    { file: 'README.md', line: 1, target: 'docs/a.md#nope', reason: 'no such heading' },
    { file: 'docs/sub/b.md', line: 1, target: 'a.md', reason: 'no such file' },
  ]);
});

test('every relative link in the project docs resolves', () => {
  const files = markdownFiles(root);
  assert.ok(files.includes('README.md') && files.includes('docs/worker.md'));
  assert.ok(files.includes('model-assets/README.md') && files.includes('CHANGELOG.md'));
  assert.deepEqual(brokenLinks(root, files), []);
});

test("the README's benchmark block is docs/benchmarks/readme-section.md, which npm run eval writes", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readFileSync(path.join(root, 'docs/benchmarks/readme-section.md'), 'utf8');
  const block = /<!-- benchmarks:begin[^>]*-->\n([\s\S]*?)<!-- benchmarks:end -->/.exec(readme);
  assert.ok(block, 'README.md has no <!-- benchmarks:begin --> ... <!-- benchmarks:end --> block');
  assert.equal(
    block[1].trim(),
    section.trim(),
    'copy docs/benchmarks/readme-section.md between the README markers',
  );
});

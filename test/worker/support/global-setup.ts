// Runs in Node before the workerd tests: writes the generated test bundle and starts the loopback
// stand-in upstream. Its URL reaches the tests through `inject('upstreamUrl')`.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLoopbackUpstream } from './loopback-upstream';

const root = path.resolve(import.meta.dirname, '../../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const make = path.join(root, 'test/fixtures/make_test_bundle.py');
  const out = path.join(root, 'test/.tmp/bundles');
  execFileSync('/usr/bin/python3', [make, out, 'test-v1'], { stdio: 'inherit' });
  // The same graphs plus a prediction layer (neighbours.onnx) and its parity fixture.
  execFileSync('/usr/bin/python3', [make, out, 'test-layer-v1', '--layer'], { stdio: 'inherit' });
  const upstream = await startLoopbackUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

// Runs in Node before the workerd tests: starts the loopback provider fakes. Their URL and a
// refused URL reach the provider/upstream tests through `inject(...)`.
import type { TestProject } from 'vitest/node';
import { refusedUrl, startFakeProviders } from './fake-providers';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fakes = await startFakeProviders();
  project.provide('fakeProvidersUrl', fakes.url);
  project.provide('refusedUrl', await refusedUrl());
  return () => fakes.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    fakeProvidersUrl: string;
    refusedUrl: string;
  }
}

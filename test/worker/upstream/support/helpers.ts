// Small helpers shared by the provider and fallback tests (they run inside workerd).
import { inject } from 'vitest';
import type { ChatRequest, ProviderKind, UpstreamTarget } from '../../../../worker/providers/types';

/** A target on the loopback fakes (`provider` picks the /openai or /anthropic wire format). */
export function fakeTarget(
  provider: ProviderKind,
  upstreamModel: string,
  name = upstreamModel,
): UpstreamTarget {
  const base = inject('fakeProvidersUrl');
  return {
    name,
    provider,
    upstreamModel,
    baseUrl: `${base}/${provider === 'anthropic' ? 'anthropic' : 'openai'}/v1`,
    apiKey: 'test-key',
  };
}

/** A one-message chat request. */
export function chat(extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'router', messages: [{ role: 'user', content: 'Say hello.' }], ...extra };
}

/** One request a fake model received. */
export interface ReceivedRequest {
  path: string;
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
  closedEarly: boolean;
}

/** What one fake model received. */
export async function received(model: string): Promise<ReceivedRequest[]> {
  const res = await fetch(
    `${inject('fakeProvidersUrl')}/__requests?model=${encodeURIComponent(model)}`,
  );
  return res.json();
}

/** The `data:` payloads of an SSE body, in order (JSON parsed, `[DONE]` kept as the string). */
export function dataEvents(text: string): unknown[] {
  return text
    .split(/\n\n/)
    .map((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n'),
    )
    .filter((d) => d !== '')
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

/** Content text of OpenAI chunks, joined. */
export function contentOf(events: unknown[]): string {
  return events
    .map(
      (e) =>
        (e as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ??
        '',
    )
    .join('');
}

/** Resolves with `p`, or rejects after `ms` (so a test that would hang fails instead). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms),
    ),
  ]);
}

/** What the redirect sink (the host `redirect-...` models point at) received for one model. */
export async function sinkHits(
  model: string,
): Promise<
  Array<{ method: string; path: string; headers: Record<string, string | undefined>; body: string }>
> {
  const res = await fetch(
    `${inject('fakeProvidersUrl')}/__sink?model=${encodeURIComponent(model)}`,
  );
  return res.json();
}

import { describe, expect, it } from 'vitest';
import { sseData, sseDecoder, type SseEvent } from '../../../worker/providers/sse';

async function decode(pieces: string[]): Promise<SseEvent[]> {
  const enc = new TextEncoder();
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(enc.encode(p));
      c.close();
    },
  });
  const out: SseEvent[] = [];
  const reader = source.pipeThrough(sseDecoder()).getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) return out;
    out.push(r.value);
  }
}

describe('sseDecoder', () => {
  it('joins events split across chunks, at any byte', async () => {
    const text = 'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n';
    const whole = await decode([text]);
    expect(whole).toEqual([{ event: 'message_start', data: '{"a":1}' }, { event: 'ping', data: '{}' }, { event: undefined, data: '[DONE]' }]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(await decode([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
  });

  it('handles CRLF and lone CR line ends (also a CRLF split between chunks)', async () => {
    expect(await decode(['data: x\r', '\n\r\ndata: y\r\r'])).toEqual([{ event: undefined, data: 'x' }, { event: undefined, data: 'y' }]);
  });

  it('skips comments, joins multi-line data, and dispatches a final event without a blank line', async () => {
    expect(await decode([': keep-alive\n\ndata: a\ndata: b\n\ndata: tail'])).toEqual([{ event: undefined, data: 'a\nb' }, { event: undefined, data: 'tail' }]);
  });

  it('decodes multi-byte UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo €\n\n');
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const r = await source.pipeThrough(sseDecoder()).getReader().read();
    expect(r.value).toEqual({ event: undefined, data: 'héllo €' });
  });
});

describe('sseData', () => {
  it('encodes JSON and the [DONE] marker as data lines', () => {
    const dec = new TextDecoder();
    expect(dec.decode(sseData({ a: 1 }))).toBe('data: {"a":1}\n\n');
    expect(dec.decode(sseData('[DONE]'))).toBe('data: [DONE]\n\n');
  });
});

import { describe, expect, it } from 'vitest';
import {
  sseData,
  sseDecoder,
  sseEventSplitter,
  type SseEvent,
} from '../../../worker/providers/sse';

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
    expect(whole).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: 'ping', data: '{}' },
      { event: undefined, data: '[DONE]' },
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(await decode([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
  });

  it('handles CRLF and lone CR line ends (also a CRLF split between chunks)', async () => {
    expect(await decode(['data: x\r', '\n\r\ndata: y\r\r'])).toEqual([
      { event: undefined, data: 'x' },
      { event: undefined, data: 'y' },
    ]);
  });

  it('skips comments, joins multi-line data, and dispatches a final event without a blank line', async () => {
    expect(await decode([': keep-alive\n\ndata: a\ndata: b\n\ndata: tail\n'])).toEqual([
      { event: undefined, data: 'a\nb' },
      { event: undefined, data: 'tail' },
    ]);
  });

  it('drops a final line cut before its line end (the upstream broke mid-line), with its event', async () => {
    expect(await decode(['data: {"a":1}\n\ndata: {"choi'])).toEqual([
      { event: undefined, data: '{"a":1}' },
    ]);
    expect(await decode(['data: {"a":1}\n\nevent: content_block_delta\ndata: {"ty'])).toEqual([
      { event: undefined, data: '{"a":1}' },
    ]);
    expect(await decode(['data: {"a":1}\n\ndata: tail'])).toEqual([
      { event: undefined, data: '{"a":1}' },
    ]);
  });

  it('keeps a final line without its line end when it is visibly whole ([DONE], or JSON that parses)', async () => {
    expect(await decode(['data: {"a":1}\n\ndata: [DONE]'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '[DONE]' },
    ]);
    expect(await decode(['event: message_stop\ndata: {"type":"message_stop"}'])).toEqual([
      { event: 'message_stop', data: '{"type":"message_stop"}' },
    ]);
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

describe('sseEventSplitter', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const split = (pieces: string[]): { events: string[]; rest: string | null } => {
    const s = sseEventSplitter();
    const events = pieces.flatMap((p) => s.push(enc.encode(p)).map((b) => dec.decode(b)));
    const rest = s.rest();
    return { events, rest: rest ? dec.decode(rest) : null };
  };

  it('passes whole events only, byte for byte, wherever the chunks are cut', () => {
    const text = 'data: {"a":1}\n\n: keep-alive\n\nevent: x\r\ndata: é€\r\n\r\ndata: [DONE]\r\r';
    const whole = split([text]);
    expect(whole).toEqual({
      events: [
        'data: {"a":1}\n\n',
        ': keep-alive\n\n',
        'event: x\r\ndata: é€\r\n\r\n',
        'data: [DONE]\r\r',
      ],
      rest: null,
    });
    for (let cut = 1; cut < text.length; cut++) {
      const got = split([text.slice(0, cut), text.slice(cut)]);
      expect(got.events.join('')).toBe(text);
      expect(got.rest).toBeNull();
      for (const e of got.events)
        expect(e === '\n' || /(\r\n|\n|\r)(\r\n|\n|\r)$/.test(e), JSON.stringify(e)).toBe(true);
    }
  });

  it('holds back an unfinished event', () => {
    expect(split(['data: {"a":1}\n\ndata: {"ch', 'oi'])).toEqual({
      events: ['data: {"a":1}\n\n'],
      rest: 'data: {"choi',
    });
    expect(split(['data: {"a":1}\n\n\n\n'])).toEqual({
      events: ['data: {"a":1}\n\n\n\n'],
      rest: null,
    });
  });
});

// worker/ingress/answer.ts on its own: a chat stream answer that arrives without a body must still
// reach the client as the ingress API's event stream, reported as cut in that API's own format,
// with the serving path's headers kept (never a bodiless response that claims to be chat SSE).
import { describe, expect, it } from 'vitest';
import { translateStream } from '../../../worker/ingress/answer';
import { messagesStream } from '../../../worker/ingress/messages/stream';
import { responsesBodyOf } from '../../../worker/ingress/responses/schema';
import { responsesStream } from '../../../worker/ingress/responses/stream';

/** A 200 chat-stream answer with no body, as the serving path would hand it over. */
function bodiless(): Response {
  return new Response(null, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream',
      'content-length': '0',
      'x-router-model': 'm-1',
    },
  });
}

/** The event names of an SSE text. */
function eventNames(text: string): string[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((b) => b.split('\n')[0]!.replace('event: ', ''));
}

describe('translateStream of a chat answer without a body', () => {
  it('the Responses stream starts the response, then fails it', async () => {
    const res = translateStream(
      bodiless(),
      responsesStream(responsesBodyOf({ model: 'router', input: 'Hi' })),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('x-router-model')).toBe('m-1');
    expect(eventNames(await res.text())).toEqual([
      'response.created',
      'response.in_progress',
      'error',
      'response.failed',
    ]);
  });

  it('the Messages stream is one error event (no message was started)', async () => {
    const res = translateStream(bodiless(), messagesStream('router'));
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-router-model')).toBe('m-1');
    expect(eventNames(await res.text())).toEqual(['error']);
  });
});

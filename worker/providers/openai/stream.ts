import { parseSseEvent, sseData, sseEventSplitter, wholeData } from '../sse';
import { UpstreamError, UpstreamErrorEvent } from '../errors';
import { streamErrorBody } from '../error-body';
import { readOpenAIUsage, type UsageSink } from '../usage';

/** Ends an event that arrived without its blank line. */
const END_OF_EVENT = new TextEncoder().encode('\n\n');

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isErrorChunk(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { error?: unknown }).error != null;
}

function hasFinishReason(v: unknown): boolean {
  const choices = (v as { choices?: unknown }).choices;
  return (
    Array.isArray(choices) &&
    choices.some((c) => (c as { finish_reason?: unknown } | null)?.finish_reason != null)
  );
}

/** The usage chunk that closes a stream asked for it: `choices` empty, `usage` set. */
function isUsageOnly(v: unknown): boolean {
  const { choices } = v as { choices?: unknown };
  return Array.isArray(choices) && choices.length === 0;
}

/**
 * Passes an OpenAI-compatible SSE stream through unchanged, but only in whole events: bytes are
 * held back until their event's blank line arrives, so a client never gets half an event (the
 * official clients JSON-parse every `data:` and throw a SyntaxError on a half one). Besides that:
 * - `data: [DONE]` ends the stream; anything after it is dropped;
 * - an event whose data is not JSON is dropped (no OpenAI client can read it);
 * - an error the upstream sends mid-stream (`data: {"error": ...}`, as OpenRouter does) ends the
 *   stream with an `UpstreamErrorEvent`, its message cleaned (never the raw object);
 * - a stream that ends without `[DONE]` gets one when a finish_reason was seen (the answer is
 *   complete), else it errors with `UpstreamError('incomplete')`; an unfinished last event is
 *   dropped unless only its line ends are missing and its data is whole;
 * - every `usage` a chunk carries goes to `onUsage` (the last one counts); the usage chunk (no
 *   choices) reaches the client only when `forwardUsage` (the client asked for it: the router
 *   asks every upstream for it, see ./request.ts).
 * The errors become the client's error event in `endWithErrorEvent` (worker/upstream/stream-guard.ts).
 *
 * @example
 * upstream.body.pipeThrough(openAIStream({ forwardUsage: false, onUsage: (u) => (usage = u) }));
 */
export function openAIStream(opts: {
  forwardUsage: boolean;
  onUsage: UsageSink;
}): TransformStream<Uint8Array, Uint8Array> {
  const split = sseEventSplitter();
  const text = new TextDecoder();
  let done = false;
  let finished = false;

  /** Passes on (or acts on) one whole event, given as its bytes. */
  const handle = (block: Uint8Array, out: TransformStreamDefaultController<Uint8Array>): void => {
    // a block ends at a line end, so it never splits a multi-byte character
    const ev = parseSseEvent(text.decode(block));
    if (ev === null) {
      out.enqueue(block); // comment or keep-alive
      return;
    }
    if (ev.data === '[DONE]') {
      done = true;
      out.enqueue(block);
      return;
    }
    const payload = json(ev.data);
    if (typeof payload !== 'object' || payload === null) return; // not JSON, or not a chunk
    if (isErrorChunk(payload)) throw new UpstreamErrorEvent(streamErrorBody(payload));
    finished ||= hasFinishReason(payload);
    const usage = readOpenAIUsage((payload as { usage?: unknown }).usage);
    if (usage) {
      opts.onUsage(usage);
      if (!opts.forwardUsage && isUsageOnly(payload)) return;
    }
    out.enqueue(block);
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    transform(bytes, out) {
      for (const block of split.push(bytes)) {
        if (done) return;
        handle(block, out);
      }
    },
    flush(out) {
      // an event whose last line lost only its line end still counts when it is visibly whole
      const rest = split.rest();
      const last = rest && parseSseEvent(text.decode(rest));
      if (!done && rest && last && wholeData(last.data))
        handle(split.push(END_OF_EVENT)[0] ?? rest, out);
      if (done) return;
      if (finished) {
        out.enqueue(sseData('[DONE]'));
        return;
      }
      throw new UpstreamError(
        'incomplete',
        rest
          ? 'upstream stream broke off in the middle of an event'
          : 'upstream stream ended before the answer was complete',
      );
    },
  });
}

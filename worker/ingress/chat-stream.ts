/**
 * Reads the serving path's chat stream (OpenAI `chat.completion.chunk` events, whole events only,
 * ending in `data: [DONE]`, or in one `data: {"error": ...}` event and `[DONE]` when it broke; see
 * upstream/stream-guard.ts) as a few plain events that the Responses and Messages stream
 * translators turn into their own: text and refusal pieces, tool calls and their argument pieces,
 * the finish reason, usage, the error, the end.
 */
import type { OpenAIErrorBody } from '../errors';
import type { FinishReason } from '../providers/openai/types';
import { sseDecoder, type SseEvent } from '../providers/sse';
import { finishOf, usageOf, type ChatUsage } from './chat-answer';

export type ChatStreamEvent =
  /** The first chunk: the answer's id and model. */
  | { type: 'start'; id: string; model: string }
  | { type: 'text'; text: string }
  | { type: 'refusal'; text: string }
  /** A tool call begins; `index` numbers the answer's tool calls. */
  | { type: 'tool_call'; index: number; id: string; name: string }
  | { type: 'tool_arguments'; index: number; delta: string }
  | { type: 'finish'; reason: FinishReason }
  | { type: 'usage'; usage: ChatUsage }
  /** The stream broke (or the upstream sent an error); nothing follows. */
  | { type: 'error'; error: OpenAIErrorBody['error'] }
  /** `[DONE]`: the answer is complete; nothing follows. */
  | { type: 'done' };

interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface Chunk {
  id?: unknown;
  model?: unknown;
  error?: OpenAIErrorBody['error'];
  usage?: unknown;
  choices?: Array<{
    index?: unknown;
    delta?: { content?: unknown; refusal?: unknown; tool_calls?: ToolCallDelta[] };
    finish_reason?: unknown;
  }>;
}

function parse(data: string): Chunk | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null ? (v as Chunk) : null;
  } catch {
    return null;
  }
}

/** The events of one chunk's first choice, in the order a reader needs them. */
function choiceEvents(
  chunk: Chunk,
  tools: Map<number, string>,
  emit: (e: ChatStreamEvent) => void,
) {
  const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
  if (!choice) return;
  const { delta } = choice;
  if (typeof delta?.content === 'string' && delta.content !== '')
    emit({ type: 'text', text: delta.content });
  if (typeof delta?.refusal === 'string' && delta.refusal !== '')
    emit({ type: 'refusal', text: delta.refusal });
  for (const call of Array.isArray(delta?.tool_calls) ? delta.tool_calls : []) {
    const index = typeof call.index === 'number' ? call.index : tools.size;
    if (!tools.has(index)) {
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${tools.size}`;
      tools.set(index, id);
      const name = typeof call.function?.name === 'string' ? call.function.name : '';
      emit({ type: 'tool_call', index, id, name });
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args !== '')
      emit({ type: 'tool_arguments', index, delta: args });
  }
  const finish = finishOf(choice.finish_reason);
  if (finish) emit({ type: 'finish', reason: finish });
}

/** The error a stream that ended without `[DONE]` or an error event ends in. */
const CUT: OpenAIErrorBody['error'] = {
  message: 'the answer stream ended before it was complete',
  type: 'upstream_error',
  param: null,
  code: 'upstream_incomplete',
};

/**
 * Chat SSE bytes in, `ChatStreamEvent`s out. `start` comes first, `done` or `error` last: a stream
 * that ends without either is cut, and ends in an `upstream_incomplete` error. An event whose data
 * is not JSON is skipped (the serving path never sends one).
 *
 * @example
 * chatResponse.body.pipeThrough(chatStreamEvents()).pipeThrough(toResponsesEvents(request));
 */
export function chatStreamEvents(): {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<ChatStreamEvent>;
} {
  const decoder = sseDecoder();
  const tools = new Map<number, string>();
  let started = false;
  let ended = false;
  const events = new TransformStream<SseEvent, ChatStreamEvent>({
    transform(ev, out) {
      if (ended) return;
      const emit = (e: ChatStreamEvent): void => out.enqueue(e);
      if (ev.data === '[DONE]') {
        ended = true;
        emit({ type: 'done' });
        return;
      }
      const chunk = parse(ev.data);
      if (!chunk) return;
      if (chunk.error) {
        ended = true;
        emit({ type: 'error', error: chunk.error });
        return;
      }
      if (!started) {
        started = true;
        const id = typeof chunk.id === 'string' ? chunk.id : '';
        emit({ type: 'start', id, model: typeof chunk.model === 'string' ? chunk.model : '' });
      }
      choiceEvents(chunk, tools, emit);
      const usage = usageOf(chunk.usage);
      if (usage) emit({ type: 'usage', usage });
    },
    flush(out) {
      // the serving path always ends with [DONE] or an error event; anything else is a cut stream
      if (!ended) out.enqueue({ type: 'error', error: CUT });
    },
  });
  return { writable: decoder.writable, readable: decoder.readable.pipeThrough(events) };
}

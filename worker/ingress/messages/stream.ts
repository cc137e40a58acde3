/**
 * The serving path's chat stream as Messages API events, in Anthropic's order: `message_start`
 * (usage 0 so far), `ping`, then per content block `content_block_start`, its deltas
 * (`text_delta`, or `input_json_delta` for a tool call's arguments) and `content_block_stop`; then
 * `message_delta` (stop reason and the usage the chat stream reported) and `message_stop`. A
 * stream that broke ends with an `error` event (which the official SDK raises as an APIError).
 */
import { namedEvent } from '../answer';
import { newId, type ChatUsage } from '../chat-answer';
import { chatStreamEvents, type ChatStreamEvent } from '../chat-stream';
import type { OpenAIErrorBody } from '../../errors';
import type { FinishReason } from '../../providers/openai/types';
import { streamError } from './errors';
import { messageUsage, stopReason } from './response';

type Out = TransformStreamDefaultController<Uint8Array>;

/** The Messages events of one streamed answer. */
class MessagesEvents {
  private started = false;
  private blocks = 0;
  /** The open block: its index and, for a tool call, the chat index of that call. */
  private open:
    { index: number; kind: 'text' } | { index: number; kind: 'tool'; call: number } | null = null;
  private readonly toolBlocks = new Map<number, number>();
  private refused = false;
  finish: FinishReason = null;
  usage: ChatUsage | null = null;

  constructor(
    private readonly model: string,
    private readonly out: Out,
  ) {}

  private send(type: string, fields: Record<string, unknown> = {}): void {
    this.out.enqueue(namedEvent(type, { type, ...fields }));
  }

  start(model: string): void {
    if (this.started) return;
    this.started = true;
    this.send('message_start', {
      message: {
        id: newId('msg'),
        type: 'message',
        role: 'assistant',
        model: model || this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: messageUsage(null),
      },
    });
    this.send('ping');
  }

  private closeBlock(): void {
    if (!this.open) return;
    this.send('content_block_stop', { index: this.open.index });
    this.open = null;
  }

  text(text: string, refusal = false): void {
    this.refused ||= refusal;
    if (this.open?.kind !== 'text') {
      this.closeBlock();
      this.open = { index: this.blocks++, kind: 'text' };
      this.send('content_block_start', {
        index: this.open.index,
        content_block: { type: 'text', text: '' },
      });
    }
    this.send('content_block_delta', {
      index: this.open.index,
      delta: { type: 'text_delta', text },
    });
  }

  toolCall(call: number, id: string, name: string): void {
    this.closeBlock();
    const index = this.blocks++;
    this.open = { index, kind: 'tool', call };
    this.toolBlocks.set(call, index);
    this.send('content_block_start', {
      index,
      content_block: { type: 'tool_use', id, name, input: {} },
    });
  }

  toolArguments(call: number, partial: string): void {
    const index = this.toolBlocks.get(call);
    if (index === undefined) return;
    this.send('content_block_delta', {
      index,
      delta: { type: 'input_json_delta', partial_json: partial },
    });
  }

  /** The answer is complete: the open block stops, then `message_delta` and `message_stop`. */
  complete(): void {
    this.start('');
    this.closeBlock();
    const usage = messageUsage(this.usage);
    this.send('message_delta', {
      delta: { stop_reason: stopReason(this.finish, this.refused), stop_sequence: null },
      usage: {
        output_tokens: usage.output_tokens,
        ...(this.usage
          ? {
              input_tokens: usage.input_tokens,
              cache_read_input_tokens: usage.cache_read_input_tokens,
            }
          : {}),
      },
    });
    this.send('message_stop');
  }

  fail(error: OpenAIErrorBody['error']): void {
    this.out.enqueue(namedEvent('error', streamError(error)));
  }
}

/**
 * Chat SSE bytes in, Messages SSE bytes out.
 *
 * @example
 * return translateStream(await serveChatBody(c, toChatBody(body)), messagesStream(body.model));
 */
export function messagesStream(model: string): {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<Uint8Array>;
} {
  const chat = chatStreamEvents();
  let events: MessagesEvents | null = null;
  const translate = new TransformStream<ChatStreamEvent, Uint8Array>({
    start(out) {
      events = new MessagesEvents(model, out);
    },
    transform(ev) {
      const e = events!;
      switch (ev.type) {
        case 'start':
          return e.start(ev.model);
        case 'text':
          return e.text(ev.text);
        case 'refusal':
          return e.text(ev.text, true);
        case 'tool_call':
          return e.toolCall(ev.index, ev.id, ev.name);
        case 'tool_arguments':
          return e.toolArguments(ev.index, ev.delta);
        case 'finish':
          e.finish = ev.reason;
          return;
        case 'usage':
          e.usage = ev.usage;
          return;
        case 'error':
          return e.fail(ev.error);
        case 'done':
          return e.complete();
      }
    },
  });
  return { writable: chat.writable, readable: chat.readable.pipeThrough(translate) };
}

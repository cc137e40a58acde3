/**
 * The serving path's chat stream as Responses API events, numbered by `sequence_number`, in the
 * order OpenAI sends them: `response.created`, `response.in_progress`; per output item
 * `response.output_item.added`, its content parts (`response.content_part.added`, text or refusal
 * deltas, their `.done` events, `response.content_part.done`) or its arguments
 * (`response.function_call_arguments.delta` / `.done`), `response.output_item.done`; then
 * `response.completed` (or `response.incomplete`, cut by max_output_tokens) with the whole response
 * and its usage. A stream that broke ends with an `error` event and `response.failed`.
 */
import { namedEvent } from '../answer';
import { newId } from '../chat-answer';
import { chatStreamEvents, type ChatStreamEvent } from '../chat-stream';
import type { OpenAIErrorBody } from '../../errors';
import {
  finishedStatus,
  responseObject,
  type FunctionCallItem,
  type ItemStatus,
  type MessageItem,
  type OutputPart,
  type ResponseState,
} from './response';
import type { ResponsesBody } from './schema';

type Out = TransformStreamDefaultController<Uint8Array>;

/** The Responses events of one streamed answer; `send` writes one event, numbered. */
class ResponsesEvents {
  private seq = 0;
  private started = false;
  private message: { index: number; item: MessageItem } | null = null;
  private readonly calls = new Map<number, { index: number; item: FunctionCallItem }>();
  readonly state: ResponseState;

  constructor(
    private readonly body: ResponsesBody,
    private readonly out: Out,
  ) {
    this.state = {
      id: newId('resp'),
      createdAt: Math.floor(Date.now() / 1000),
      model: body.model,
      status: 'in_progress',
      output: [],
      usage: null,
      finish: null,
      error: null,
    };
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.out.enqueue(namedEvent(type, { type, sequence_number: this.seq++, ...fields }));
  }

  private snapshot() {
    return responseObject(this.body, this.state);
  }

  start(model: string): void {
    if (this.started) return;
    this.started = true;
    if (model) this.state.model = model;
    this.send('response.created', { response: this.snapshot() });
    this.send('response.in_progress', { response: this.snapshot() });
  }

  /** The open message item and its last part, opened (or switched to `kind`) as needed. */
  private part(kind: OutputPart['type']) {
    if (!this.message) {
      const item: MessageItem = {
        id: newId('msg'),
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      this.message = { index: this.state.output.length, item };
      this.state.output.push(item);
      this.send('response.output_item.added', {
        output_index: this.message.index,
        item: { ...item, content: [] },
      });
    }
    const { index, item } = this.message;
    const last = item.content[item.content.length - 1];
    if (last?.type === kind) return { index, item, content: item.content.length - 1, part: last };
    if (last) this.closePart(index, item, item.content.length - 1, last);
    const part: OutputPart =
      kind === 'refusal'
        ? { type: 'refusal', refusal: '' }
        : { type: 'output_text', text: '', annotations: [], logprobs: [] };
    item.content.push(part);
    const content = item.content.length - 1;
    this.send('response.content_part.added', {
      item_id: item.id,
      output_index: index,
      content_index: content,
      part: { ...part },
    });
    return { index, item, content, part };
  }

  private closePart(index: number, item: MessageItem, content: number, part: OutputPart): void {
    const at = { item_id: item.id, output_index: index, content_index: content };
    if (part.type === 'refusal')
      this.send('response.refusal.done', { ...at, refusal: part.refusal });
    else this.send('response.output_text.done', { ...at, text: part.text, logprobs: [] });
    this.send('response.content_part.done', { ...at, part: { ...part } });
  }

  text(delta: string): void {
    const { index, item, content, part } = this.part('output_text');
    if (part.type !== 'output_text') return;
    part.text += delta;
    this.send('response.output_text.delta', {
      item_id: item.id,
      output_index: index,
      content_index: content,
      delta,
      logprobs: [],
    });
  }

  refusal(delta: string): void {
    const { index, item, content, part } = this.part('refusal');
    if (part.type !== 'refusal') return;
    part.refusal += delta;
    this.send('response.refusal.delta', {
      item_id: item.id,
      output_index: index,
      content_index: content,
      delta,
    });
  }

  toolCall(chatIndex: number, callId: string, name: string): void {
    const item: FunctionCallItem = {
      id: newId('fc'),
      type: 'function_call',
      status: 'in_progress',
      call_id: callId,
      name,
      arguments: '',
    };
    const index = this.state.output.length;
    this.calls.set(chatIndex, { index, item });
    this.state.output.push(item);
    this.send('response.output_item.added', { output_index: index, item: { ...item } });
  }

  toolArguments(chatIndex: number, delta: string): void {
    const call = this.calls.get(chatIndex);
    if (!call) return;
    call.item.arguments += delta;
    this.send('response.function_call_arguments.delta', {
      item_id: call.item.id,
      output_index: call.index,
      delta,
    });
  }

  /** Ends every open item, in output order, with `status`. */
  private closeItems(status: ItemStatus): void {
    const open: Array<{ index: number; close: () => void }> = [];
    const message = this.message;
    if (message)
      open.push({
        index: message.index,
        close: () => {
          const { index, item } = message;
          const last = item.content.length - 1;
          if (last >= 0) this.closePart(index, item, last, item.content[last]!);
          item.status = status;
          this.send('response.output_item.done', { output_index: index, item });
        },
      });
    for (const { index, item } of this.calls.values())
      open.push({
        index,
        close: () => {
          this.send('response.function_call_arguments.done', {
            item_id: item.id,
            output_index: index,
            name: item.name,
            arguments: item.arguments,
          });
          item.status = status;
          this.send('response.output_item.done', { output_index: index, item });
        },
      });
    for (const item of open.sort((a, b) => a.index - b.index)) item.close();
    this.message = null;
    this.calls.clear();
  }

  /** The answer is complete: items done, then `response.completed` (or `.incomplete`). */
  complete(): void {
    this.start('');
    const status = finishedStatus(this.state.finish);
    this.closeItems(status);
    this.state.status = status;
    this.send(`response.${status}`, { response: this.snapshot() });
  }

  /**
   * The stream broke: an `error` event (which the openai SDK raises), then `response.failed`, its
   * unfinished items marked incomplete.
   */
  fail(error: OpenAIErrorBody['error']): void {
    this.start('');
    const code = error.code ?? 'upstream_error';
    this.send('error', {
      code,
      message: error.message,
      param: error.param,
      error: { type: error.type, code, message: error.message, param: error.param },
    });
    // open items stay open (no .done events: a client must not take half a tool call as whole)
    for (const item of this.state.output)
      if (item.status === 'in_progress') item.status = 'incomplete';
    this.state.status = 'failed';
    this.state.error = { code, message: error.message };
    this.send('response.failed', { response: this.snapshot() });
  }
}

/**
 * Chat SSE bytes in, Responses SSE bytes out (no `[DONE]`: `response.completed` ends the stream).
 *
 * @example
 * return translateStream(await serveChatBody(c, toChatBody(body)), responsesStream(body));
 */
export function responsesStream(body: ResponsesBody): {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<Uint8Array>;
} {
  const chat = chatStreamEvents();
  let events: ResponsesEvents | null = null;
  const translate = new TransformStream<ChatStreamEvent, Uint8Array>({
    start(out) {
      events = new ResponsesEvents(body, out);
    },
    transform(ev, _out) {
      const e = events!;
      switch (ev.type) {
        case 'start':
          return e.start(ev.model);
        case 'text':
          return e.text(ev.text);
        case 'refusal':
          return e.refusal(ev.text);
        case 'tool_call':
          return e.toolCall(ev.index, ev.id, ev.name);
        case 'tool_arguments':
          return e.toolArguments(ev.index, ev.delta);
        case 'finish':
          e.state.finish = ev.reason;
          return;
        case 'usage':
          e.state.usage = ev.usage;
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

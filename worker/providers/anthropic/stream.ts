import { sseData, sseDecoder, type SseEvent } from '../sse';
import { UpstreamError, UpstreamErrorEvent } from '../errors';
import { streamErrorBody } from '../error-body';
import { chunk, nowSeconds, type ChatCompletionChunk } from '../openai/types';
import { usageChunk, type TokenUsage, type UsageSink } from '../usage';
import { anthropicCachedTokens, anthropicPromptTokens, finishReason } from './response';
import type { ByteTransform } from '../adapter';

interface Meta {
  id: string;
  created: number;
  model: string;
}

/**
 * Translates Anthropic's streamed Messages events into OpenAI `chat.completion.chunk` events:
 * message_start -> a role chunk; text_delta -> content; tool_use start / input_json_delta ->
 * tool_calls deltas; message_delta -> finish_reason; message_stop -> a usage chunk when the caller
 * asked for `stream_options.include_usage`, then `data: [DONE]`; ping is dropped. The usage
 * (message_start's prompt tokens, cached ones included, and message_delta's output tokens) goes to
 * `onUsage` when message_delta brings the final count. An `error` event
 * (its message cleaned) and a stream that ends without message_stop error the stream
 * (`UpstreamErrorEvent`, `UpstreamError('incomplete')`), which `endWithErrorEvent` turns into the
 * client's error event. The decoder only passes whole events, so a line cut mid-way never arrives.
 *
 * @example
 * upstream.body.pipeThrough(anthropicStream({ includeUsage: false, fallbackModel: 'claude', onUsage: () => {} }));
 */
export function anthropicStream(opts: {
  includeUsage: boolean;
  fallbackModel: string;
  onUsage: UsageSink;
}): ByteTransform {
  const meta: Meta = { id: 'chatcmpl-anthropic', created: nowSeconds(), model: opts.fallbackModel };
  let inputTokens = 0;
  let cachedTokens = 0;
  let outputTokens = 0;
  let ended = false;
  // Anthropic numbers content blocks across text and tools; OpenAI numbers tool calls only.
  const toolIndex = new Map<number, number>();
  const current = (): TokenUsage => ({
    promptTokens: inputTokens,
    completionTokens: outputTokens,
    ...(cachedTokens > 0 ? { cachedTokens } : {}),
  });

  const handle = (ev: SseEvent, out: TransformStreamDefaultController<Uint8Array>): void => {
    if (ended) return;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(ev.data) as Record<string, unknown>;
    } catch {
      return; // not a JSON event: nothing Anthropic documents, nothing to translate
    }
    const type = ev.event ?? (typeof data.type === 'string' ? data.type : '');
    const emit = (c: ChatCompletionChunk): void => out.enqueue(sseData(c));
    switch (type) {
      case 'message_start': {
        const m = data.message as { id?: unknown; model?: unknown; usage?: unknown } | undefined;
        if (typeof m?.id === 'string') meta.id = m.id;
        if (typeof m?.model === 'string') meta.model = m.model;
        inputTokens = anthropicPromptTokens(m?.usage) ?? inputTokens;
        cachedTokens = anthropicCachedTokens(m?.usage) || cachedTokens;
        emit(chunk(meta, { role: 'assistant', content: '' }));
        return;
      }
      case 'content_block_start': {
        const block = data.content_block as
          { type?: unknown; id?: unknown; name?: unknown } | undefined;
        if (block?.type !== 'tool_use') return;
        const index = toolIndex.size;
        toolIndex.set(Number(data.index), index);
        emit(
          chunk(meta, {
            tool_calls: [
              {
                index,
                id: String(block.id ?? ''),
                type: 'function',
                function: { name: String(block.name ?? ''), arguments: '' },
              },
            ],
          }),
        );
        return;
      }
      case 'content_block_delta': {
        const delta = data.delta as
          { type?: unknown; text?: unknown; partial_json?: unknown } | undefined;
        if (delta?.type === 'text_delta' && typeof delta.text === 'string')
          emit(chunk(meta, { content: delta.text }));
        else if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const index = toolIndex.get(Number(data.index)) ?? 0;
          emit(
            chunk(meta, { tool_calls: [{ index, function: { arguments: delta.partial_json } }] }),
          );
        }
        return;
      }
      case 'message_delta': {
        const delta = data.delta as { stop_reason?: unknown } | undefined;
        const usage = data.usage as { output_tokens?: unknown } | undefined;
        // message_delta's counts are cumulative; its input count, when sent, is the final one
        inputTokens = anthropicPromptTokens(data.usage) ?? inputTokens;
        cachedTokens = anthropicCachedTokens(data.usage) || cachedTokens;
        if (typeof usage?.output_tokens === 'number') {
          outputTokens = usage.output_tokens;
          opts.onUsage(current());
        }
        emit(chunk(meta, {}, finishReason(delta?.stop_reason) ?? 'stop'));
        return;
      }
      case 'message_stop': {
        if (opts.includeUsage) emit(usageChunk(meta, current()));
        out.enqueue(sseData('[DONE]'));
        ended = true;
        return;
      }
      case 'error':
        throw new UpstreamErrorEvent(streamErrorBody(data));
      default:
        return; // ping, content_block_stop, and event types added later
    }
  };

  const decoder = sseDecoder();
  return {
    writable: decoder.writable,
    readable: decoder.readable.pipeThrough(
      new TransformStream<SseEvent, Uint8Array>({
        transform: handle,
        flush() {
          if (!ended)
            throw new UpstreamError('incomplete', 'upstream stream ended before message_stop');
        },
      }),
    ),
  };
}

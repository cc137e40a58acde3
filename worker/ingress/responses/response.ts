/**
 * The Responses API's answer object (`object: "response"`), built from a chat answer: a `message`
 * item with `output_text` (and `refusal`) parts, one `function_call` item per tool call, `status`
 * from the finish reason, `usage` from the chat usage; the request's own settings echoed as OpenAI
 * echoes them. The stream translator builds the same object as it goes (stream.ts).
 */
import { newId, type ChatAnswer, type ChatUsage } from '../chat-answer';
import type { FinishReason } from '../../providers/openai/types';
import type { ResponsesBody } from './schema';

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export type OutputPart =
  | { type: 'output_text'; text: string; annotations: []; logprobs: [] }
  | { type: 'refusal'; refusal: string };

export interface MessageItem {
  id: string;
  type: 'message';
  status: ItemStatus;
  role: 'assistant';
  content: OutputPart[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageItem | FunctionCallItem;

/** The Responses usage object, from the chat usage. */
export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** What a response object says besides the request's echoed settings. */
export interface ResponseState {
  id: string;
  createdAt: number;
  model: string;
  status: ResponseStatus;
  output: OutputItem[];
  usage: ChatUsage | null;
  finish: FinishReason;
  error: { code: string; message: string } | null;
}

/**
 * The Responses usage of a chat usage (null stays null: the upstream reported none).
 *
 * @example
 * responseUsage({ inputTokens: 7, outputTokens: 4, cachedTokens: 0, reasoningTokens: 0 }).total_tokens; // 11
 */
export function responseUsage(usage: ChatUsage | null): ResponseUsage | null {
  if (!usage) return null;
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/**
 * Why an answer stopped short, in Responses terms: cut by `max_output_tokens`, or filtered.
 *
 * @example
 * incompleteReason('length'); // 'max_output_tokens'
 */
export function incompleteReason(finish: FinishReason): string | null {
  if (finish === 'length') return 'max_output_tokens';
  if (finish === 'content_filter') return 'content_filter';
  return null;
}

/**
 * The response object for `state`, with the request's settings echoed.
 *
 * @example
 * responseObject(body, { id: 'resp_1', createdAt: 1700000000, model: 'gpt-4o', status: 'completed',
 *   output: [], usage: null, finish: 'stop', error: null });
 */
export function responseObject(body: ResponsesBody, state: ResponseState) {
  const reason = state.status === 'failed' ? null : incompleteReason(state.finish);
  const done = state.status === 'completed' || state.status === 'incomplete';
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: state.status,
    background: false,
    completed_at: done ? Math.floor(Date.now() / 1000) : null,
    error: state.error,
    incomplete_details: reason ? { reason } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: state.model,
    output: state.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    truncation: 'disabled',
    usage: responseUsage(state.usage),
    user: body.user ?? null,
  };
}

/**
 * The status of a finished answer: `incomplete` when it was cut short, else `completed`.
 *
 * @example
 * finishedStatus('length'); // 'incomplete'
 */
export function finishedStatus(finish: FinishReason): 'completed' | 'incomplete' {
  return incompleteReason(finish) ? 'incomplete' : 'completed';
}

/**
 * The Responses answer for a whole chat answer: a message item (when the model wrote text or
 * refused, or called no tool) and a function_call item per tool call.
 *
 * @example
 * toResponseObject(readChatAnswer(json), body).output[0].content[0].text;
 */
export function toResponseObject(answer: ChatAnswer, body: ResponsesBody) {
  const status = finishedStatus(answer.finish);
  const itemStatus: ItemStatus = status;
  const parts: OutputPart[] = [];
  if (answer.text !== null && answer.text !== '')
    parts.push({ type: 'output_text', text: answer.text, annotations: [], logprobs: [] });
  if (answer.refusal) parts.push({ type: 'refusal', refusal: answer.refusal });
  if (parts.length === 0 && answer.toolCalls.length === 0)
    parts.push({ type: 'output_text', text: '', annotations: [], logprobs: [] });
  const output: OutputItem[] = [];
  if (parts.length > 0)
    output.push({
      id: newId('msg'),
      type: 'message',
      status: itemStatus,
      role: 'assistant',
      content: parts,
    });
  for (const call of answer.toolCalls)
    output.push({
      id: newId('fc'),
      type: 'function_call',
      status: itemStatus,
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
    });
  return responseObject(body, {
    id: newId('resp'),
    createdAt: Math.floor(Date.now() / 1000),
    model: answer.model || body.model,
    status,
    output,
    usage: answer.usage,
    finish: answer.finish,
    error: null,
  });
}

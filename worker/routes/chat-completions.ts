/**
 * `POST /v1/chat/completions`: OpenAI-compatible. `model` = `router` | `router/<pool>` routes
 * (decision headers on the response); any other name calls that model directly; a pool no bundle
 * can route is served by its fallback model, if it names one. The body is served as it is, through
 * the path every ingress API shares (ingress/serve-chat-body.ts).
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { serveChatBody } from '../ingress/serve-chat-body';
import type { ChatInput } from '../schemas/chat';

/**
 * @example
 * v1.post('/chat/completions', chatBody, tokenLimit(), chatCompletions);
 */
export function chatCompletions(c: Context<AppEnv, string, ChatInput>): Promise<Response> {
  return serveChatBody(c, c.req.valid('json'));
}

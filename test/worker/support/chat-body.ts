// Runs a request through the chat endpoints' body validator (`chatBody`, the real middleware) and
// resolves with the validated body, or rejects with the domain error it throws.
import { Hono } from 'hono';
import type { AppEnv } from '../../../worker/env';
import { chatBody, type ChatBody } from '../../../worker/schemas/chat';

const app = new Hono<AppEnv>()
  .post('/', chatBody, (c) => c.json(c.req.valid('json')))
  .onError((err) => {
    throw err;
  });

/** The validated chat body of `request` (a JSON round trip), or the ApiError it is refused with. */
export async function parseChatBody(request: Request): Promise<ChatBody> {
  const res = await app.request(new Request('http://router.test/', request));
  return res.json<ChatBody>();
}

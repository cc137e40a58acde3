// A stand-in OpenAI-compatible upstream on 127.0.0.1 (Node http), speaking the real wire format.
// Behaviour is picked by the requested upstream model id:
//   contains "fail-503" / "fail-500" -> that HTTP status with an OpenAI error body
//   contains "hang"                  -> never answers (the router's timeout must fire)
//   anything else                    -> a completion; with stream: true, SSE chunks 150 ms apart
// GET /__requests?model=<id> lists what that model received (method, path, auth header, body).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Received {
  path: string;
  authorization: string | null;
  body: Record<string, unknown>;
}

const CHUNK_GAP_MS = 150;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c: Buffer) => {
      data += c.toString('utf8');
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function completion(model: string, content: string): Record<string, unknown> {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
  };
}

async function stream(res: ServerResponse, model: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const words = ['Hello', ' from', ` ${model}`];
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  for (const [i, w] of words.entries()) {
    const chunk = {
      id,
      object: 'chat.completion.chunk',
      created: 0,
      model,
      choices: [
        {
          index: 0,
          delta: i === 0 ? { role: 'assistant', content: w } : { content: w },
          finish_reason: null,
        },
      ],
    };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    await new Promise((r) => setTimeout(r, CHUNK_GAP_MS));
  }
  const last = {
    id,
    object: 'chat.completion.chunk',
    created: 0,
    model,
    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
  };
  res.write(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`);
  res.end();
}

export async function startLoopbackUpstream(): Promise<{
  url: string;
  close: () => Promise<void>;
}> {
  const received = new Map<string, Received[]>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/__requests') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(received.get(url.searchParams.get('model') ?? '') ?? []));
        return;
      }
      const text = await readBody(req);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* recorded as {} */
      }
      const model = typeof body.model === 'string' ? body.model : '';
      const list = received.get(model) ?? [];
      list.push({ path: url.pathname, authorization: req.headers.authorization ?? null, body });
      received.set(model, list);
      const fail = /fail-(\d{3})/.exec(model);
      if (fail) {
        res.writeHead(Number(fail[1]), { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: `stand-in failure ${fail[1]}`,
              type: 'server_error',
              param: null,
              code: null,
            },
          }),
        );
        return;
      }
      if (model.includes('hang')) return; // never answers; closed when the client gives up
      if (body.stream === true) return stream(res, model);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completion(model, `Hello from ${model}`)));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

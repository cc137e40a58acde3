/**
 * Embedder benchmark worker: the worker's own tokenizer + embedder.onnx in onnxruntime-web, inside
 * workerd. Driven by bench/embedder/run.ts.
 *
 * POST /embed {text}        one tokenize + embed (session created on first use, then warm)
 * POST /loop  {texts, n}    n back-to-back tokenize + embed, cycling through texts (ms per block of 10, the clock's 1 ms
 *                           steps allow no finer), and n tokenize-only; ms totals
 * GET  /noop                nothing: the driver's round-trip baseline
 */
import { createSession } from '../../worker/runtime/ort';
import { embedLocal } from '../../worker/embedding/local';
import { tokenize, type TokenizerSpec } from '../../worker/embedding/tokenizer';
import type { OnnxSession } from '../../worker/decision/types';

interface Env {
  ASSETS: R2Bucket;
}

let loaded: Promise<{ session: OnnxSession; spec: TokenizerSpec }> | undefined;

async function load(env: Env): Promise<{ session: OnnxSession; spec: TokenizerSpec }> {
  const model = await env.ASSETS.get('embedder.onnx');
  const spec = await env.ASSETS.get('tokenizer.json');
  if (!model || !spec) throw new Error('seed embedder.onnx and tokenizer.json first');
  const session = await createSession(new Uint8Array(await model.arrayBuffer()));
  return { session, spec: JSON.parse(await spec.text()) as TokenizerSpec };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/noop') return new Response('ok');
      loaded ??= load(env);
      const { session, spec } = await loaded;
      if (url.pathname === '/embed') {
        const { text } = await request.json<{ text: string }>();
        const [v] = await embedLocal(session, spec, [text]);
        return Response.json({ dim: v!.length, first: v![0] });
      }
      if (url.pathname === '/loop') {
        const { texts, n } = await request.json<{ texts: string[]; n: number }>();
        const text = (i: number): string => texts[i % texts.length]!;
        let t0 = Date.now();
        let check = 0;
        const blocks: number[] = [];
        for (let b = 0; b < n / 10; b++) {
          const tb = Date.now();
          for (let i = 0; i < 10; i++)
            check += (await embedLocal(session, spec, [text(b * 10 + i)]))[0]![0]!;
          blocks.push(Date.now() - tb);
        }
        const embedMs = Date.now() - t0;
        t0 = Date.now();
        for (let i = 0; i < n; i++) check += Number(tokenize(text(i), spec)[0]);
        const tokenizeMs = Date.now() - t0;
        return Response.json({
          n,
          embed_total_ms: embedMs,
          embed_block10_ms: blocks,
          tokenize_total_ms: tokenizeMs,
          check,
        });
      }
      return Response.json({ error: 'not found' }, { status: 404 });
    } catch (e) {
      return Response.json({ error: e instanceof Error ? e.message : String(e) }, { status: 500 });
    }
  },
};

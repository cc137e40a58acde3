/**
 * onnxruntime-web inside workerd.
 *
 * workerd forbids compiling wasm from bytes at run time, and ORT has no option that accepts an
 * already compiled module. So (DESIGN.md, "Facts measured here"): the wasm is imported as a module
 * (wrangler compiles it at deploy time), ORT is told to use one thread and no proxy worker and is
 * handed an 8-byte placeholder binary so it neither fetches nor looks up a script URL, and while
 * the first session is created, the glue's single `WebAssembly.instantiate(placeholder)` call is
 * answered with an instance of the imported module. The original function is restored afterwards.
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import type { OnnxSession } from '../decision/types';
import { fromOrtSession, sessionOptions } from '../decision/ort-adapter';
import { Turns } from './turns';
import { WARM_MODEL_BASE64 } from './warm-model';

/** `\0asm` + version 1: the smallest buffer ORT accepts as `wasmBinary`. */
const PLACEHOLDER = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

let initDone = false;
/**
 * Serialises every call into ORT's one wasm instance: session creation (the instantiate patch must
 * not overlap with another creation) and `run`. A worker isolate serves many requests at once, and
 * onnxruntime-web's wasm backend is not re-entrant: a run keeps its input/output pointer arrays on
 * the wasm stack across its awaits and restores the stack pointer when it ends, so when runs that
 * overlap (same session or not) end out of order, later wasm calls overwrite a pending run's
 * pointers ("Cannot read properties of null" in decodeTensorMetadata: a 500 for concurrent
 * requests). The wasm work inside a run is synchronous anyway (this build has no JSEP), so taking
 * turns adds little beyond the microtask hops.
 *
 * The lock is ./turns.ts, which does not let a cancelled request's turn block every later call.
 */
const turns = new Turns();

/** Runs `task` after the ORT calls before it; a failure does not block the ones after. */
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  return turns.run(task);
}

function configure(): void {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = PLACEHOLDER.buffer;
  ort.env.logLevel = 'error';
}

async function createWithPatch(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  if (initDone) return ort.InferenceSession.create(model, options);
  configure();
  const original = WebAssembly.instantiate;
  const patched = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (source instanceof WebAssembly.Module) return original(source, imports);
    const instance = new WebAssembly.Instance(ortWasm, imports);
    return { instance, module: ortWasm };
  };
  (WebAssembly as { instantiate: unknown }).instantiate = patched;
  try {
    const session = await ort.InferenceSession.create(model, options);
    initDone = true;
    return session;
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = original;
  }
}

/** The warm-up graph (./warm-model.ts), decoded once. */
function warmModel(): Uint8Array {
  const text = atob(WARM_MODEL_BASE64);
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

let warming: { done: Promise<number>; at: number } | null = null;

/**
 * A warm-up still pending after this long is presumed lost (the request that started it was
 * cancelled while it waited for its turn, so it never settles) and the next call starts another.
 */
const WARM_UP_PATIENCE_MS = 5_000;

/**
 * Initialises ONNX Runtime in this isolate once, and resolves with the milliseconds it took (0
 * when it was already done). Instantiating ORT's wasm, and compiling each kernel's wasm on its first
 * use, were most of an isolate's first routed request: the warm-up creates a session of a tiny graph
 * that holds every operator the bundle graphs use (./warm-model.ts, made by
 * model-assets/tools/make_warm_model.py) and runs it once, after which a bundle graph's first run
 * costs about what its later ones do. Safe to call at any time and from many requests: they share
 * one warm-up. A failure is logged and forgotten, so the next call tries again, as it does when a
 * warm-up has been pending for `WARM_UP_PATIENCE_MS` (its request may be gone).
 *
 * The router starts it when its module is evaluated (worker/index.ts) and again at the start of
 * every request, before any D1 or R2 read: either the isolate's start, or the request's own
 * waits for D1 and R2, then cover it, instead of the first decision paying it in full.
 *
 * @example
 * void warmOrt();
 */
export function warmOrt(): Promise<number> {
  if (initDone) return Promise.resolve(0);
  if (warming && Date.now() - warming.at < WARM_UP_PATIENCE_MS) return warming.done;
  const started = { at: Date.now(), done: Promise.resolve(0) };
  started.done = exclusive(async () => {
    const t0 = Date.now();
    const session = await createWithPatch(warmModel(), {
      ...sessionOptions(),
      executionProviders: ['wasm'],
    });
    await session.run({ x: new ort.Tensor('float32', new Float32Array(8).fill(0.1), [1, 8]) });
    await session.release();
    return Date.now() - t0;
  }).catch((e: unknown) => {
    console.error('ONNX Runtime warm-up failed; the first session will initialise it', e);
    if (warming === started) warming = null;
    return 0;
  });
  warming = started;
  return started.done;
}

/**
 * Creates an ONNX session from model bytes inside workerd (first call also initialises ORT).
 * Options: `sessionOptions` (decision/ort-adapter.ts), the same as the Node tools that score it.
 * Its `run` calls, and those of every other session, take turns (`exclusive`), so concurrent
 * requests in one isolate are safe.
 *
 * @example
 * const session = await createSession(new Uint8Array(await obj.arrayBuffer()));
 * const out = await session.run({ embedding: { type: 'float32', data, dims: [1, 64] } });
 */
export async function createSession(model: Uint8Array): Promise<OnnxSession> {
  const session = fromOrtSession(
    await exclusive(() =>
      createWithPatch(model, { ...sessionOptions(), executionProviders: ['wasm'] }),
    ),
    ort.Tensor,
  );
  return { ...session, run: (feeds) => exclusive(() => session.run(feeds)) };
}

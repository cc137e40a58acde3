import { createSession } from './runtime/ort';
export default {
  async fetch(): Promise<Response> { return new Response('ok'); },
} satisfies ExportedHandler;
void createSession;

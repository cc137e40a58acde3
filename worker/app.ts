/**
 * The Hono app: middleware and routes. Extend it by mounting more routes on the returned app
 * (e.g. `app.route('/admin', adminRoutes)`) before exporting it.
 */
import { Hono } from 'hono';
import type { AppEnv } from './env';
import { auth } from './middleware/auth';
import { bodyLimit } from './middleware/body-limit';
import { preflight, tenantCors } from './middleware/cors';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { rateLimit, tokenLimit, tokenLimitOf } from './middleware/rate-limit';
import { requestId } from './middleware/request-id';
import { serverTiming } from './middleware/server-timing';
import { chatCompletions } from './routes/chat-completions';
import { healthz, healthzAuth } from './routes/healthz';
import { getModelRoute } from './routes/model';
import { listModelsRoute } from './routes/models';
import { routeOnly } from './routes/route';
import { responses } from './routes/responses';
import { messages } from './routes/messages';
import { MESSAGES_ENDPOINT, messagesInput, type MessagesInput } from './ingress/messages';
import { responsesInput, type ResponsesInput } from './ingress/responses';
import { chatBody } from './schemas/chat';
import { admin } from './routes/admin';
import { operator } from './routes/operator';
import { postFeedback } from './routes/feedback';
import { feedbackBody } from './schemas/feedback';

/**
 * Builds the router app.
 *
 * @example
 * const app = createApp();
 * export default app;
 */
export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler);
  app.notFound(notFoundHandler);
  app.use(requestId());
  app.use(serverTiming());
  app.get('/healthz', healthzAuth, healthz);
  app.options('/v1/*', preflight());
  app.options('/admin/*', preflight());

  const v1 = new Hono<AppEnv>();
  v1.use(bodyLimit());
  v1.use(auth({ apiKeyHeaderOn: [MESSAGES_ENDPOINT] }));
  v1.use(tenantCors());
  v1.use(rateLimit());
  v1.post('/chat/completions', chatBody, tokenLimit(), chatCompletions);
  v1.post(
    '/responses',
    responsesInput,
    tokenLimitOf((i: ResponsesInput) => i.chat),
    responses,
  );
  v1.post(
    '/messages',
    messagesInput,
    tokenLimitOf((i: MessagesInput) => i.chat),
    messages,
  );
  v1.post('/route', chatBody, routeOnly);
  v1.post('/feedback', feedbackBody, postFeedback);
  v1.get('/models', listModelsRoute);
  v1.get('/models/:id{.+}', getModelRoute);
  app.route('/v1', v1);
  app.route('/admin', admin);
  app.route('/operator', operator);
  return app;
}

/**
 * The admin API (mounted at `/admin` behind the tenant-key auth): registering models and
 * onboarding them from a quiz. See docs/onboarding.md.
 *
 * @example
 * app.route('/admin', admin);
 */
import { Hono } from 'hono';
import type { AppEnv } from '../../env';
import { auth } from '../../middleware/auth';
import { bodyLimit } from '../../middleware/body-limit';
import { tenantCors } from '../../middleware/cors';
import { rateLimit } from '../../middleware/rate-limit';
import { validBody, validParams, validQuery } from '../../middleware/validate';
import { createModel, showModel } from './models';
import { rollbackOnline, showOnline } from './online';
import { poolMember } from './pools';
import { getQuiz, nextQuizItem, postQuiz } from './quiz';
import {
  memberParams,
  modelParams,
  newModelSchema,
  onlineQuerySchema,
  quizNextSchema,
  quizPostSchema,
  quizQuerySchema,
} from './schemas';

export const admin = new Hono<AppEnv>()
  .use(bodyLimit())
  .use(auth())
  .use(tenantCors())
  .use(rateLimit())
  .post('/models', validBody(newModelSchema), createModel)
  .get('/models/:id', validParams(modelParams), showModel)
  .get('/models/:id/online-identity', validParams(modelParams), showOnline)
  .delete(
    '/models/:id/online-identity',
    validParams(modelParams),
    validQuery(onlineQuerySchema),
    rollbackOnline,
  )
  .get('/models/:id/quiz', validParams(modelParams), validQuery(quizQuerySchema), getQuiz)
  .post('/models/:id/quiz', validParams(modelParams), validBody(quizPostSchema), postQuiz)
  .post('/models/:id/quiz/next', validParams(modelParams), validBody(quizNextSchema), nextQuizItem)
  .put('/pools/:pool/members/:model', validParams(memberParams), poolMember)
  .delete('/pools/:pool/members/:model', validParams(memberParams), poolMember);

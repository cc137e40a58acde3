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
import { createModel, showModel } from './models';
import { poolMember } from './pools';
import { getQuiz, nextQuizItem, postQuiz } from './quiz';

export const admin = new Hono<AppEnv>()
  .use(bodyLimit())
  .use(auth())
  .use(tenantCors())
  .use(rateLimit())
  .post('/models', createModel)
  .get('/models/:id', showModel)
  .get('/models/:id/quiz', getQuiz)
  .post('/models/:id/quiz', postQuiz)
  .post('/models/:id/quiz/next', nextQuizItem)
  .put('/pools/:pool/members/:model', poolMember)
  .delete('/pools/:pool/members/:model', poolMember);

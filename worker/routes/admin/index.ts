/**
 * The admin API (mounted at `/admin` behind the tenant-key auth): registering models and
 * onboarding them from a quiz (docs/onboarding.md); experiments and their reports
 * (docs/experiments.md).
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
import {
  experimentListQuery,
  experimentParams,
  experimentPatchSchema,
  newExperimentSchema,
} from './experiment-schemas';
import {
  createExperiment,
  experimentReport,
  listExperimentsRoute,
  patchExperiment,
  showExperiment,
  stopExperimentRoute,
} from './experiments';
import { createModel, showModel } from './models';
import { poolMember } from './pools';
import { getQuiz, nextQuizItem, postQuiz } from './quiz';
import {
  memberParams,
  modelParams,
  newModelSchema,
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
  .get('/models/:id/quiz', validParams(modelParams), validQuery(quizQuerySchema), getQuiz)
  .post('/models/:id/quiz', validParams(modelParams), validBody(quizPostSchema), postQuiz)
  .post('/models/:id/quiz/next', validParams(modelParams), validBody(quizNextSchema), nextQuizItem)
  .put('/pools/:pool/members/:model', validParams(memberParams), poolMember)
  .delete('/pools/:pool/members/:model', validParams(memberParams), poolMember)
  .post('/experiments', validBody(newExperimentSchema), createExperiment)
  .get('/experiments', validQuery(experimentListQuery), listExperimentsRoute)
  .get('/experiments/:id', validParams(experimentParams), showExperiment)
  .patch(
    '/experiments/:id',
    validParams(experimentParams),
    validBody(experimentPatchSchema),
    patchExperiment,
  )
  .post('/experiments/:id/stop', validParams(experimentParams), stopExperimentRoute)
  .get('/experiments/:id/report', validParams(experimentParams), experimentReport);

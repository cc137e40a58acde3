/**
 * The admin API (mounted at `/admin` behind the tenant-key auth): the tenant's own models and pools,
 * onboarding models from a quiz (docs/onboarding.md), its decision log and what routing saved
 * (docs/worker.md, "Management API"), experiments and their reports (docs/experiments.md).
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
import { listDecisionsRoute } from './decisions';
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
import { createModel, listOwnModels, patchModel, removeModel, showModel } from './models';
import { createPool, listPools, patchPool, poolMember, removePool, showPool } from './pools';
import { poolSavings } from './savings';
import { rollbackOnline, showOnline } from './online';
import { getQuiz, nextQuizItem, postQuiz } from './quiz';
import {
  decisionsQuerySchema,
  memberParams,
  modelParams,
  modelPatchSchema,
  newModelSchema,
  newPoolSchema,
  poolParams,
  poolPatchSchema,
  onlineQuerySchema,
  quizNextSchema,
  quizPostSchema,
  quizQuerySchema,
  savingsQuerySchema,
} from './schemas';

export const admin = new Hono<AppEnv>()
  .use(bodyLimit())
  .use(auth())
  .use(tenantCors())
  .use(rateLimit())
  .get('/models', listOwnModels)
  .post('/models', validBody(newModelSchema), createModel)
  .get('/models/:id', validParams(modelParams), showModel)
  .patch('/models/:id', validParams(modelParams), validBody(modelPatchSchema), patchModel)
  .delete('/models/:id', validParams(modelParams), removeModel)
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
  .get('/pools', listPools)
  .post('/pools', validBody(newPoolSchema), createPool)
  .get('/pools/:pool', validParams(poolParams), showPool)
  .patch('/pools/:pool', validParams(poolParams), validBody(poolPatchSchema), patchPool)
  .delete('/pools/:pool', validParams(poolParams), removePool)
  .get('/pools/:pool/savings', validParams(poolParams), validQuery(savingsQuerySchema), poolSavings)
  .put('/pools/:pool/members/:model', validParams(memberParams), poolMember)
  .delete('/pools/:pool/members/:model', validParams(memberParams), poolMember)
  .get('/decisions', validQuery(decisionsQuerySchema), listDecisionsRoute)
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

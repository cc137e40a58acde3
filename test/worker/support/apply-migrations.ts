// Applies the D1 migrations before each test file (storage is isolated per file).
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { TestEnv } from './env';

const testEnv = env as unknown as TestEnv;
await applyD1Migrations(testEnv.DB, testEnv.TEST_MIGRATIONS);

/** Incremental LMDB snapshots: the shared incremental contract, plus what only the LMDB backend can get wrong. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { keyedStateIncrementalContract } from '../keyed-state-incremental.contract.js';
import { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-incremental-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

keyedStateIncrementalContract(
  'LmdbKeyedStateBackend',
  (opts) => new LmdbKeyedStateBackend({ ...opts, localDir }),
);

// Issue 11, point 3: the CLI authenticates as the JobManager asks: the bearer token (--token,
// SLUICE_REST_TOKEN) and HTTPS with the CA to trust and, for mutual TLS, its own certificate.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../support/certificates.js';
import { useJobManagers } from './support/jobmanager.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SUM_JOB = join(ROOT, 'test/fixtures/sum-job.ts');
const TOKEN = 'cli-test-token-0123456789abcdef';
const jobManagers = useJobManagers();
let pki: TestPki;
beforeAll(() => void (pki = createTestPki()));
afterAll(() => pki.remove());

/** Runs `sluice ...args`; resolves with its exit code and output. */
function sluice(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/sluice.js'), ...args], {
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, ...out })),
  );
}

describe('the sluice command against a JobManager that requires authentication', () => {
  it('sends the token from --token or SLUICE_REST_TOKEN; without it, says what is missing', async () => {
    const jm = await jobManagers.start({ 'rest.authentication.token': TOKEN });
    await jobManagers.taskManagers(jm, 1);
    const address = jm.server.url.replace('http://', '');
    const run = await sluice([
      'run',
      '--no-progress',
      '--jobmanager',
      address,
      '--token',
      TOKEN,
      SUM_JOB,
      '50',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Job with JobID [0-9a-f]{32} has finished/u);
    const list = await sluice(['list', '-m', address], { SLUICE_REST_TOKEN: TOKEN });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/: sum-job \(FINISHED\)/u);
    const missing = await sluice(['list', '-m', address]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: GET \/jobs\/overview failed \(401\): Authentication required/u);
    const wrong = await sluice(['run', '--jobmanager', address, '--token', `${TOKEN}x`, SUM_JOB]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/did not take the job bundle \(401\): The REST token is wrong/u);
  });

  it('talks HTTPS trusting the configured CA, with a client certificate for mutual TLS', async () => {
    const jm = await jobManagers.start({
      'security.ssl.rest.enabled': 'true',
      'security.ssl.rest.key-path': pki.server.key,
      'security.ssl.rest.cert-path': pki.server.cert,
      'security.ssl.rest.authentication-enabled': 'true',
      'security.ssl.rest.truststore-path': pki.ca,
    });
    await jobManagers.taskManagers(jm, 1);
    const address = jm.server.url.replace('https://', '');
    const trust = [
      '-D',
      `security.ssl.rest.truststore-path=${pki.ca}`,
      '-D',
      'security.ssl.rest.enabled=true',
    ];
    const client = [
      '-D',
      `security.ssl.rest.cert-path=${pki.client.cert}`,
      '-D',
      `security.ssl.rest.key-path=${pki.client.key}`,
    ];
    const run = await sluice([
      'run',
      '--no-progress',
      '--jobmanager',
      address,
      ...trust,
      ...client,
      SUM_JOB,
      '50',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [master] = jm.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
    const list = await sluice(['list', '-m', `https://${address}`, ...trust, ...client]);
    expect(list.code, list.stderr).toBe(0);
    const noCertificate = await sluice(['list', '-m', `https://${address}`, ...trust]);
    expect(noCertificate.code).toBe(1);
    expect(noCertificate.stderr).toMatch(
      /cannot reach the JobManager at https:.*present a client certificate/u,
    );
    const untrusted = await sluice(['list', '-m', `https://${address}`, ...client]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /cannot reach the JobManager at https:.*security\.ssl\.rest\.truststore-path/u,
    );
  });
});

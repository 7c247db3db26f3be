// Issue 11, point 2: job submission over REST is a choice (web.submit.enable), and a JobManager
// reachable from other hosts takes none without authentication.
import { describe, expect, it } from 'vitest';
import { Configuration } from '../../src/core/configuration.js';
import { SluiceError } from '../../src/core/errors.js';
import { startJobManager } from '../../src/cli/cluster-commands.js';
import { call, useJobManagers } from './support/jobmanager.js';

const jobManagers = useJobManagers();
const TOKEN = 'submission-test-token-0123456789';

describe('web.submit.enable', () => {
  it('is on for a JobManager by default; off, every /jars path is a 404 and /config says so', async () => {
    const open = await jobManagers.start();
    expect((await call(open.server.url, 'GET', '/config')).body['features']).toMatchObject({
      'web-submit': true,
    });
    expect((await call(open.server.url, 'GET', '/jars')).status).toBe(200);

    const closed = await jobManagers.start({ 'web.submit.enable': 'false' });
    expect((await call(closed.server.url, 'GET', '/config')).body['features']).toMatchObject({
      'web-submit': false,
    });
    const form = new FormData();
    form.append('jarfile', new Blob(['export {};\n']), 'job.mjs');
    const upload = await call(closed.server.url, 'POST', '/jars/upload', { body: form });
    expect(upload.status).toBe(404);
    expect(upload.body.errors![0]).toMatch(
      /^This cluster takes no job submissions \(web\.submit\.enable: false/u,
    );
    expect((await call(closed.server.url, 'GET', '/jars')).status).toBe(404);
  });
});

describe('a JobManager whose REST API other hosts can reach', () => {
  it('refuses to start taking submissions without authentication; with a token, or without submissions, it starts', async () => {
    const wide = { 'rest.bind-address': '0.0.0.0', 'rest.port': '0', 'jobmanager.rpc.port': '0' };
    let error: unknown;
    try {
      await startJobManager(new Configuration().addAll(wide));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_REST_UNPROTECTED');
    expect((error as SluiceError).message).toMatch(
      /would listen on 0\.0\.0\.0 and run any job module uploaded to it, without authentication\. Set rest\.authentication\.token/u,
    );
    const withToken = await jobManagers.start({ ...wide, 'rest.authentication.token': TOKEN });
    expect(withToken.authenticated).toBe(true);
    expect((await call(withToken.server.url, 'GET', '/jars')).status).toBe(401);
    const noSubmissions = await jobManagers.start({ ...wide, 'web.submit.enable': 'false' });
    expect(noSubmissions.submissions).toBe(false);
  });
});

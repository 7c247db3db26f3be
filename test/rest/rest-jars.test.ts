// Job submission over Flink's jar endpoints (upload, list, delete, run) against a backend that records what it is asked to run.
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from 'sluice';
import type { RestBackend } from '../../src/rest/rest-backend.js';
import type {
  DashboardConfiguration,
  JarListInfo,
  JarRunResponseBody,
  JarUploadResponseBody,
} from '../../src/rest/rest-schema.js';
import { startRestServer, type RestServer, type RestServerOptions } from '../../src/rest/rest-server.js';
import {
  expectError,
  expectFlinkShape,
  getJson,
  JOB_ID,
  request,
  TestingSubmitBackend,
  type JsonResponse,
} from './support/rest-fixture.js';

const BUNDLE = new TextEncoder().encode('export const job = 1;\n');

const servers: RestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  backend: RestBackend,
  options: Partial<RestServerOptions> = {},
): Promise<{ url: string; backend: RestBackend }> {
  const server = await startRestServer({ backend, port: 0, ...options });
  servers.push(server);
  return { url: server.url, backend };
}

/** Uploads files as a multipart form (field `jarfile`, as Flink's clients). */
async function upload(
  base: string,
  files: readonly { name: string; bytes?: Uint8Array }[],
): Promise<JsonResponse> {
  const form = new FormData();
  for (const f of files) form.append('jarfile', new Blob([f.bytes ?? BUNDLE]), f.name);
  const response = await fetch(`${base}/jars/upload`, { method: 'POST', body: form });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function uploadedId(base: string, name = 'job.mjs'): Promise<string> {
  const response = await upload(base, [{ name }]);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as JarUploadResponseBody).filename;
}

describe('POST /jars/upload and GET /jars', () => {
  it('stores a bundle under <uuid>_<name> and lists it, newest first, in Flink shapes', async () => {
    let now = 1_000;
    const { url } = await serve(new TestingSubmitBackend(), { now: () => now });
    const first = await upload(url, [{ name: 'job.mjs' }]);
    expect(first.status).toBe(200);
    expectFlinkShape(first.body, '/jars/upload', 'POST');
    const firstId = (first.body as JarUploadResponseBody).filename;
    expect(firstId).toMatch(/^[0-9a-f-]{36}_job\.mjs$/u);
    expect(first.body).toEqual({ filename: firstId, status: 'success' });
    now = 2_000;
    const secondId = await uploadedId(url, 'other.js');

    const list = await getJson<JarListInfo>(url, '/jars');
    expectFlinkShape(list, '/jars');
    expect(list).toEqual({
      address: url,
      files: [
        { id: secondId, name: 'other.js', uploaded: 2_000, entry: [] },
        { id: firstId, name: 'job.mjs', uploaded: 1_000, entry: [] },
      ],
    });
  });

  it('400 unless exactly one .mjs or .js file comes as multipart/form-data', async () => {
    const { url } = await serve(new TestingSubmitBackend());
    expectError(await upload(url, []), 400, 'Exactly 1 file must be sent, received 0.');
    expectError(
      await upload(url, [{ name: 'a.mjs' }, { name: 'b.mjs' }]),
      400,
      'Exactly 1 file must be sent, received 2.',
    );
    expectError(await upload(url, [{ name: 'job.ts' }]), 400, /^Only job bundles \(\.mjs or \.js files\)/u);
    expectError(
      await request(url, 'POST', '/jars/upload', '{}'),
      415,
      /^Expected a multipart\/form-data upload .*"application\/json"/u,
    );
    const fieldOnly = new FormData();
    fieldOnly.append('jarfile', 'not a file');
    const response = await fetch(`${url}/jars/upload`, { method: 'POST', body: fieldOnly });
    expectError(
      { status: response.status, headers: response.headers, body: await response.json() },
      400,
      'Exactly 1 file must be sent, received 0.',
    );
    expect((await getJson<JarListInfo>(url, '/jars')).files).toEqual([]);
  });

  it('413 for a body over rest.server.max-content-length, declared or streamed; the server keeps serving', async () => {
    const { url } = await serve(new TestingSubmitBackend(), { maxContentLength: 1024 });
    const large = await upload(url, [{ name: 'big.mjs', bytes: new Uint8Array(4096) }]);
    expectError(large, 413, /^Request body is larger than the 1024 bytes allowed/u);

    // Without a Content-Length (chunked), the limit applies as the body arrives.
    const chunks = [new Uint8Array(800), new Uint8Array(800)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await fetch(`${url}/jars/upload`, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      duplex: 'half',
    });
    expectError(
      { status: streamed.status, headers: streamed.headers, body: await streamed.json() },
      413,
      /^Request body is larger/u,
    );
    expect((await getJson<JarListInfo>(url, '/jars')).files).toEqual([]);
    await uploadedId(url);
  });
});

describe('DELETE /jars/:jarid', () => {
  it('removes the bundle; an unknown id is 404', async () => {
    const { url } = await serve(new TestingSubmitBackend());
    const id = await uploadedId(url);
    const deleted = await request(url, 'DELETE', `/jars/${id}`);
    expect(deleted).toMatchObject({ status: 200, body: {} });
    expect((await getJson<JarListInfo>(url, '/jars')).files).toEqual([]);
    expectError(
      await request(url, 'DELETE', `/jars/${id}`),
      404,
      `Jar file ${id} does not exist; upload it with POST /jars/upload.`,
    );
  });
});

describe('POST /jars/:jarid/run', () => {
  it('runs the bundle with the body settings (JarRunRequestBody) and answers the job id', async () => {
    const backend = new TestingSubmitBackend();
    const { url } = await serve(backend);
    const id = await uploadedId(url, 'click-counts.mjs');
    const response = await request(
      url,
      'POST',
      `/jars/${id}/run`,
      JSON.stringify({
        programArgsList: ['--rate', '10 per second'],
        parallelism: 3,
        savepointPath: '/checkpoints/job/chk-7',
        allowNonRestoredState: true,
        flinkConfiguration: { 'execution.checkpointing.interval': '1s' },
        entryClass: null,
        claimMode: 'CLAIM',
      }),
    );
    expect(response.status).toBe(200);
    expectFlinkShape(response.body, '/jars/{jarid}/run', 'POST');
    expect(response.body).toEqual({ jobid: JOB_ID } satisfies JarRunResponseBody);
    expect(backend.requests).toHaveLength(1);
    const submitted = backend.requests[0]!;
    expect(Buffer.from(submitted.bundle).equals(Buffer.from(BUNDLE))).toBe(true);
    expect(submitted).toMatchObject({
      fileName: 'click-counts.mjs',
      args: ['--rate', '10 per second'],
      parallelism: 3,
      savepointPath: '/checkpoints/job/chk-7',
      allowNonRestoredState: true,
      configuration: {
        'execution.checkpointing.interval': '1s',
        'execution.state-recovery.claim-mode': 'CLAIM',
      },
    });
  });

  it('takes the settings from query parameters too; the body wins where both are given', async () => {
    const backend = new TestingSubmitBackend();
    const { url } = await serve(backend);
    const id = await uploadedId(url);
    const query = 'programArg=a,b&parallelism=2&savepointPath=%2Fsp&allowNonRestoredState=true';
    expect((await request(url, 'POST', `/jars/${id}/run?${query}`)).status).toBe(200);
    expect((await request(url, 'POST', `/jars/${id}/run?${query}`, '{"parallelism": 5}')).status).toBe(200);
    expect((await request(url, 'POST', `/jars/${id}/run`, '')).status).toBe(200);
    expect(backend.requests.map(({ bundle: _b, fileName: _f, ...settings }) => settings)).toEqual([
      {
        args: ['a', 'b'],
        parallelism: 2,
        savepointPath: '/sp',
        allowNonRestoredState: true,
        configuration: {},
      },
      {
        args: ['a', 'b'],
        parallelism: 5,
        savepointPath: '/sp',
        allowNonRestoredState: true,
        configuration: {},
      },
      { args: [], allowNonRestoredState: false, configuration: {} },
    ]);
  });

  it('splits programArgs on whitespace, keeping quoted parts together; not together with programArgsList', async () => {
    const backend = new TestingSubmitBackend();
    const { url } = await serve(backend);
    const id = await uploadedId(url);
    const run = (body: unknown) => request(url, 'POST', `/jars/${id}/run`, JSON.stringify(body));
    expect((await run({ programArgs: ` --in "a b"  --out 'c d' x` })).status).toBe(200);
    expect(backend.requests[0]!.args).toEqual(['--in', 'a b', '--out', 'c d', 'x']);
    expectError(
      await run({ programArgs: 'x', programArgsList: ['y'] }),
      400,
      'Confusing request: programArgs and programArgsList are specified, please, use only programArgsList',
    );
  });

  it('400 for a body that does not match JarRunRequestBody, and for bad query parameters', async () => {
    const backend = new TestingSubmitBackend();
    const { url } = await serve(backend);
    const id = await uploadedId(url);
    const run = (body: string, query = '') => request(url, 'POST', `/jars/${id}/run${query}`, body);
    const malformed = /^Request did not match expected format JarRunRequestBody: /u;
    expectError(await run('{"parallelism": '), 400, malformed);
    expectError(await run('[]'), 400, malformed);
    expectError(await run('{"programArgsList": "a b"}'), 400, /programArgsList must be an array of strings/u);
    expectError(await run('{"parallelism": 0}'), 400, /parallelism must be a positive integer/u);
    expectError(await run('{"flinkConfiguration": {"a": 1}}'), 400, /flinkConfiguration must map/u);
    expectError(await run('{"claimMode": "SOMETIMES"}'), 400, /claimMode must be one of/u);
    expectError(await run('{"detached": true}'), 400, /unknown field "detached"/u);
    expectError(await run('{"jobId": "0123456789abcdef0123456789abcdef"}'), 400, /jobId.*not supported/u);
    expectError(
      await run('', '?parallelism=many'),
      400,
      'Cannot resolve query parameter (parallelism) from value "many".',
    );
    expectError(
      await run('', '?allowNonRestoredState=yes'),
      400,
      'Cannot resolve query parameter (allowNonRestoredState) from value "yes".',
    );
    expect(backend.requests).toEqual([]);
  });

  it('404 for an unknown jar; 400 with the reason when the program cannot be run', async () => {
    const backend = new TestingSubmitBackend();
    const { url } = await serve(backend);
    expectError(await request(url, 'POST', '/jars/nope.mjs/run'), 404, /^Jar file nope\.mjs does not exist/u);
    const id = await uploadedId(url);
    backend.failure = new SluiceError('SLUICE_PROGRAM_INVALID', 'the job has no sink');
    expectError(
      await request(url, 'POST', `/jars/${id}/run`),
      400,
      'Could not execute application: the job has no sink [SLUICE_PROGRAM_INVALID]',
    );
    backend.failure = new Error('boom');
    expectError(await request(url, 'POST', `/jars/${id}/run`), 400, 'Could not execute application: boom');
  });
});

describe('a cluster that takes no submissions', () => {
  const noSubmissions: RestBackend = { jobs: () => [], job: () => undefined, taskManagers: () => [] };

  it('answers 404 on every /jars path, saying why, and reports web-submit false', async () => {
    const { url } = await serve(noSubmissions);
    const why = /^This cluster takes no job submissions/u;
    expectError(await request(url, 'GET', '/jars'), 404, why);
    expectError(await upload(url, [{ name: 'job.mjs' }]), 404, why);
    expectError(await request(url, 'POST', '/jars/x.mjs/run'), 404, why);
    expectError(await request(url, 'DELETE', '/jars/x.mjs'), 404, why);
    expect((await getJson<DashboardConfiguration>(url, '/config')).features['web-submit']).toBe(false);
  });

  it('while a cluster that takes them reports web-submit true', async () => {
    const { url } = await serve(new TestingSubmitBackend());
    expect((await getJson<DashboardConfiguration>(url, '/config')).features['web-submit']).toBe(true);
  });
});

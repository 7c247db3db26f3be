/** The REST router: literal segments beat parameters, /v1 prefix, 405 with the allowed methods. */
import { describe, expect, it } from 'vitest';
import { RestRouter, type Route } from './rest-router.js';

const route = (method: Route['method'], path: string): Route => ({
  method,
  path,
  handle: () => ({ status: 200, body: path }),
});

const router = new RestRouter([
  route('GET', '/jobs'),
  route('GET', '/jobs/overview'),
  route('GET', '/jobs/:jobid'),
  route('PATCH', '/jobs/:jobid'),
  route('GET', '/jobs/:jobid/checkpoints/config'),
  route('GET', '/jobs/:jobid/checkpoints/:triggerid'),
]);

describe('RestRouter', () => {
  it('prefers a literal segment over a parameter', () => {
    expect(router.match('GET', '/jobs/overview')).toMatchObject({
      kind: 'found',
      route: { path: '/jobs/overview' },
    });
    expect(router.match('GET', '/jobs/abc/checkpoints/config')).toMatchObject({
      kind: 'found',
      route: { path: '/jobs/:jobid/checkpoints/config' },
      params: { jobid: 'abc' },
    });
    expect(router.match('GET', '/jobs/abc/checkpoints/t1')).toMatchObject({
      params: { jobid: 'abc', triggerid: 't1' },
    });
  });

  it('takes an optional /v1 prefix and trailing slashes, and decodes segments', () => {
    expect(router.match('GET', '/v1/jobs/')).toMatchObject({ kind: 'found', route: { path: '/jobs' } });
    expect(router.match('GET', '/jobs/a%20b')).toMatchObject({ params: { jobid: 'a b' } });
    expect(router.match('GET', '/jobs/%E0%A4%A')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/v2/jobs')).toEqual({ kind: 'not-found' });
  });

  it('answers method-not-allowed with the methods of the best matching path', () => {
    expect(router.match('PUT', '/jobs/abc')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['GET', 'PATCH'],
    });
    expect(router.match('PATCH', '/jobs/overview')).toEqual({ kind: 'method-not-allowed', allowed: ['GET'] });
  });
});

// The JobManager's log pages over files in a log directory: contents as text/plain, the list in
// Flink's LogListInfo shape, names with a directory part refused and never resolved.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalRestBackend } from '../../src/rest/local-rest-backend.js';
import { startRestServer, type RestServer } from '../../src/rest/rest-server.js';
import {
  expectError,
  expectFlinkShape,
  getJson,
  request,
  TestingSubmitBackend,
} from './support/rest-fixture.js';

const servers: RestServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(files: { log?: string; stdout?: string }): Promise<string> {
  const server = await startRestServer({
    backend: new TestingSubmitBackend(),
    port: 0,
    logFiles: () => files,
  });
  servers.push(server);
  return server.url;
}

function logDirectory(): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-rest-logs-'));
  dirs.push(root);
  const dir = join(root, 'log');
  mkdirSync(dir);
  writeFileSync(join(root, 'secret.txt'), 'outside the log directory');
  writeFileSync(join(dir, 'jm.log'), '{"level":30,"msg":"started"}\n');
  writeFileSync(join(dir, 'jm.out'), 'printed\n');
  mkdirSync(join(dir, 'archive'));
  return dir;
}

describe("the JobManager's log pages", () => {
  it('serve its log, its stdout, the files of its log directory and each by name', async () => {
    const dir = logDirectory();
    const base = await serve({ log: join(dir, 'jm.log'), stdout: join(dir, 'jm.out') });
    const log = await fetch(`${base}/jobmanager/log`);
    expect(log.headers.get('content-type')).toMatch(/^text\/plain/u);
    expect(await log.text()).toBe('{"level":30,"msg":"started"}\n');
    expect(await (await fetch(`${base}/jobmanager/stdout`)).text()).toBe('printed\n');
    const list = await getJson<{ logs: { name: string; size: number; mtime: number }[] }>(
      base,
      '/jobmanager/logs',
    );
    expectFlinkShape(list, '/jobmanager/logs');
    // Regular files only, with their sizes.
    expect(list.logs.map((l) => [l.name, l.size])).toEqual([
      ['jm.log', 29],
      ['jm.out', 8],
    ]);
    expect(list.logs.every((l) => l.mtime > 0)).toBe(true);
    expect(await (await fetch(`${base}/jobmanager/logs/jm.out`)).text()).toBe('printed\n');
  });

  it('refuse names with a directory part, and answer 404 for files that are not there', async () => {
    const dir = logDirectory();
    const base = await serve({ log: join(dir, 'jm.log') });
    for (const name of [
      '..%2Fsecret.txt',
      '%2Fetc%2Fpasswd',
      'archive%2F..%2F..%2Fsecret.txt',
      '..%5Csecret.txt',
    ])
      expectError(await request(base, 'GET', `/jobmanager/logs/${name}`), 400, /Invalid log file name/u);
    expectError(await request(base, 'GET', '/jobmanager/logs/missing.log'), 404, /does not exist/u);
    expectError(await request(base, 'GET', '/jobmanager/logs/archive'), 404, /does not exist/u);
    // No stdout file kept: Flink's 404, saying how to get one.
    expectError(await request(base, 'GET', '/jobmanager/stdout'), 404, /keeps no stdout file/u);
  });

  it('list nothing and serve no log when the process keeps no files', async () => {
    const base = await serve({});
    expect(await getJson(base, '/jobmanager/logs')).toEqual({ logs: [] });
    expectError(await request(base, 'GET', '/jobmanager/log'), 404, /set log.file or env.log.dir/u);
    expectError(await request(base, 'GET', '/taskmanagers/' + 'a'.repeat(32) + '/logs'), 404, /unknown/u);
  });

  it("are the inline TaskManager's too: it is this process", async () => {
    const backend = new LocalRestBackend({ jobMasters: [] });
    const server = await startRestServer({ backend, port: 0 });
    servers.push(server);
    const id = backend.taskManagerId;
    // This test process keeps no log files: an empty list, and Flink's 404 for the files.
    expect(await getJson(server.url, `/taskmanagers/${id}/logs`)).toEqual({ logs: [] });
    expectError(await request(server.url, 'GET', `/taskmanagers/${id}/log`), 404, /does not exist/u);
    expectError(await request(server.url, 'GET', `/taskmanagers/${id}/logs/x.log`), 404, /does not exist/u);
    expectError(await request(server.url, 'GET', `/taskmanagers/${'b'.repeat(32)}/logs`), 404, /unknown/u);
  });
});

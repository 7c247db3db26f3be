// Issue 11, point 4: request bodies are limited while they stream and never read where the route
// takes none. The JobManager runs in this process; the attacker is another process, so this
// process's memory is the JobManager's alone.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { call, useJobManagers } from './support/jobmanager.js';

const jobManagers = useJobManagers();
const MB = 1024 * 1024;

/**
 * Sends each POST from a child process, `size` bytes in 64 KiB writes (declared or chunked),
 * stopping at the answer; resolves with the statuses (0: no answer before the connection broke).
 */
function attack(
  base: string,
  requests: readonly { path: string; chunked: boolean; type?: string }[],
  size: number,
): Promise<number[]> {
  const script = `
    const http = require('node:http');
    const [base, size, list] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3])];
    const chunk = Buffer.alloc(64 * 1024, 97);
    Promise.all(list.map(({ path, chunked, type }) => new Promise((resolve) => {
      let status = 0;
      const req = http.request(base + path, {
        method: 'POST',
        headers: { 'Content-Type': type ?? 'application/json', ...(chunked ? {} : { 'Content-Length': size }) },
      }, (res) => { status = res.statusCode; res.resume(); res.on('end', () => resolve(status)); });
      req.on('error', () => resolve(status));
      let sent = 0;
      const pump = () => {
        while (sent < size && status === 0 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (sent >= size) req.end();
      };
      pump();
    }))).then((statuses) => process.stdout.write(JSON.stringify(statuses)));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, base, String(size), JSON.stringify(requests)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`attacker exited ${code}`)),
    );
  });
}

/** Runs `during` while sampling this process's RSS; resolves with its result and the peak growth. */
async function peakRssGrowth<T>(during: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const result = await during();
    return { result, growth: Math.max(peak, process.memoryUsage().rss) - before };
  } finally {
    clearInterval(sampler);
  }
}

describe('request bodies', () => {
  it('ten concurrent 95 MB POSTs leave the JobManager under 100 MB bigger, each answered 413 or 404', async () => {
    const jm = await jobManagers.start();
    const requests = [
      ...Array.from({ length: 4 }, (_, i) => ({ path: `/no/such/path/${i}`, chunked: i % 2 === 0 })),
      ...Array.from({ length: 6 }, (_, i) => ({ path: `/jars/x${i}.mjs/run`, chunked: i % 2 === 0 })),
    ];
    const { result: statuses, growth } = await peakRssGrowth(() => attack(jm.server.url, requests, 95 * MB));
    expect(statuses).toEqual([404, 404, 404, 404, 413, 413, 413, 413, 413, 413]);
    expect(growth).toBeLessThan(100 * MB);
    expect((await call(jm.server.url, 'GET', '/overview')).status).toBe(200);
  });

  it('a POST to a path that takes no body is answered (405) without its body being read', async () => {
    const jm = await jobManagers.start();
    const { result: statuses, growth } = await peakRssGrowth(() =>
      attack(
        jm.server.url,
        [
          { path: '/overview', chunked: false },
          { path: '/overview', chunked: true },
        ],
        95 * MB,
      ),
    );
    expect(statuses).toEqual([405, 405]);
    expect(growth).toBeLessThan(100 * MB);
  });

  it('an upload over rest.server.max-content-length gets a 413 while it streams; the next upload goes through', async () => {
    const jm = await jobManagers.start({ 'rest.server.max-content-length': '1mb' });
    const type = 'multipart/form-data; boundary=x';
    const statuses = await attack(jm.server.url, [{ path: '/jars/upload', chunked: true, type }], 8 * MB);
    expect(statuses).toEqual([413]);
    const form = new FormData();
    form.append('jarfile', new Blob(['export {};\n']), 'job.mjs');
    expect((await call(jm.server.url, 'POST', '/jars/upload', { body: form })).status).toBe(200);
  });

  it('at most two uploads are read at once; a third gets a 503 with Retry-After', async () => {
    const jm = await jobManagers.start();
    const { port } = new URL(jm.server.url);
    const boundary = 'sluiceboundary';
    const slow = () =>
      new Promise<{ finish: () => Promise<number> }>((resolve) => {
        const req = request({
          host: '127.0.0.1',
          port,
          path: '/jars/upload',
          method: 'POST',
          headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
        });
        const answered = new Promise<number>((done) =>
          req.on('response', (res) => {
            res.resume();
            done(res.statusCode ?? 0);
          }),
        );
        req.write(
          `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="job.mjs"\r\n\r\n`,
          () => resolve({ finish: () => (req.end(`export {};\r\n--${boundary}--\r\n`), answered) }),
        );
      });
    const first = await slow();
    const second = await slow();
    // Both are being read (their handlers wait for the rest of the body) before the third comes.
    await expect
      .poll(async () => {
        const form = new FormData();
        form.append('jarfile', new Blob(['export {};\n']), 'job.mjs');
        const third = await call(jm.server.url, 'POST', '/jars/upload', { body: form });
        return [third.status, third.headers.get('retry-after')];
      })
      .toEqual([503, '5']);
    expect([await first.finish(), await second.finish()]).toEqual([200, 200]);
  });
});

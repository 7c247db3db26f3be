// Issue 11, point 1, for real: a web page served from another origin (another port on
// 127.0.0.1), opened in headless Chromium, tries to upload and run a job module on a JobManager
// with the requests a page may send without a preflight (multipart, text/plain, a form post).
// Nothing reaches the jar store or the executor; `sluice run --jobmanager` and a plain HTTP
// client, which send no Origin, do the same and succeed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { call, submit, useJobManagers } from './support/jobmanager.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SUM_JOB = join(ROOT, 'test/fixtures/sum-job.ts');
const jobManagers = useJobManagers();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the attacking page does: every request a page can send another origin without a preflight, then a preflighted one. */
const ATTACK = `
  const report = {};
  const attempt = async (name, url, init) => {
    try {
      const r = await fetch(url, init);
      report[name] = r.type === 'opaque' ? 'opaque' : r.status;
    } catch (e) {
      report[name] = 'blocked: ' + e.name;
    }
  };
  const jm = params.jobmanager;
  const form = new FormData();
  form.append('jarfile', new Blob(['throw new Error("pwned")'], { type: 'text/javascript' }), 'evil.mjs');
  await attempt('upload', jm + '/jars/upload', { method: 'POST', mode: 'no-cors', body: form });
  const run = jm + '/jars/' + params.jarId + '/run';
  await attempt('run text/plain', run, { method: 'POST', mode: 'no-cors', body: '{"programArgsList":[]}', headers: { 'Content-Type': 'text/plain' } });
  await attempt('run without body', run, { method: 'POST', mode: 'no-cors' });
  await attempt('run form-urlencoded', run, { method: 'POST', mode: 'no-cors', body: new URLSearchParams({ a: '1' }) });
  await attempt('run json (preflight)', run, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  await attempt('cancel (preflight)', jm + '/jobs/' + 'a'.repeat(32) + '?mode=cancel', { method: 'PATCH' });
  await attempt('read jobs', jm + '/jobs/overview', {});
  // A classic form post into a hidden frame: a navigation, not a fetch.
  const frame = document.createElement('iframe');
  frame.name = 'sink';
  document.body.append(frame);
  const post = document.createElement('form');
  post.method = 'POST';
  post.action = run;
  post.enctype = 'text/plain';
  post.target = 'sink';
  const field = document.createElement('input');
  field.name = '{"programArgsList":[],"x":"';
  field.value = '"}';
  post.append(field);
  document.body.append(post);
  await new Promise((resolve) => { frame.onload = resolve; post.submit(); });
  report['form post'] = 'sent';
  await fetch('/report', { method: 'POST', body: JSON.stringify(report) });
`;

/** Serves the attacking page on another port; resolves the page's report. */
async function attackerSite(
  jobmanager: string,
  jarId: string,
): Promise<{ url: string; report: Promise<Record<string, unknown>> }> {
  let deliver!: (report: Record<string, unknown>) => void;
  const report = new Promise<Record<string, unknown>>((resolve) => (deliver = resolve));
  const page = `<!doctype html><html><body><script>
    const params = ${JSON.stringify({ jobmanager, jarId })};
    (async () => { ${ATTACK} })();
  </script></body></html>`;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        deliver(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, report };
}

/** `sluice run --jobmanager` of the sum job; resolves with its exit code and output. */
function sluiceRun(jobmanager: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/sluice.js'), 'run', '--no-progress', '--jobmanager', jobmanager, SUM_JOB, '100'],
    {
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
    },
  );
  cleanups.push(() => child.kill('SIGKILL'));
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, ...out })));
}

describe('a page of another origin in a browser', () => {
  it('cannot upload or run a job module on a JobManager; the CLI and a plain HTTP client can', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(
      true,
    );
    const jm = await jobManagers.start();
    await jobManagers.taskManagers(jm, 1);
    const base = jm.server.url;
    // The worst case: the page knows the id of a bundle already uploaded.
    const form = new FormData();
    form.append('jarfile', new Blob(['export {};\n']), 'known.mjs');
    const known = await call(base, 'POST', '/jars/upload', { body: form });
    const jarId = String(known.body['filename']);

    const site = await attackerSite(base, jarId);
    const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(site.url);
    const report = await site.report;

    // No-cors requests leave with the page's Origin and are refused; preflighted ones never leave.
    expect(report).toEqual({
      upload: 'opaque',
      'run text/plain': 'opaque',
      'run without body': 'opaque',
      'run form-urlencoded': 'opaque',
      'run json (preflight)': 'blocked: TypeError',
      'cancel (preflight)': 'blocked: TypeError',
      'read jobs': 'blocked: TypeError',
      'form post': 'sent',
    });
    const jars = await call(base, 'GET', '/jars');
    expect((jars.body['files'] as { id: string }[]).map((f) => f.id)).toEqual([jarId]);
    expect(jm.executor.jobMasters).toEqual([]);

    // The same upload and run from a client that is no web page.
    const run = await submit(base, SUM_JOB, ['10']);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const cli = await sluiceRun(base.replace('http://', ''));
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/Job has been submitted with JobID [0-9a-f]{32}/u);
    expect(jm.executor.jobMasters).toHaveLength(2);
  });
});

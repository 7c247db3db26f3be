// Issue 17, points 4, 6 and 7: Sluice's web dashboard, served by a JobManager whose job runs on
// two TaskManager processes, driven in headless Chromium. The overview lists the job, the graph
// shows busy and back-pressured values, the Checkpoints tab shows the counts and history the REST
// API reports (down to operators and subtasks), a checkpoint triggered from the page completes,
// cancelling from the page cancels the job, and no page logs an error or gets an HTTP error.
// With SLUICE_UPDATE_SCREENSHOTS=1 it also writes the README's screenshots to docs/images/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointingStatistics, JobDetailsInfo } from '../../src/rest/rest-schema.js';
import { until } from '../support/cluster.js';
import { call, submit, useJobManagers } from '../security/support/jobmanager.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DASHBOARD_INDEX = join(ROOT, 'dist/web/index.html');
const JOB = join(ROOT, 'test/fixtures/unbounded-job.ts');
const SCREENSHOTS = process.env['SLUICE_UPDATE_SCREENSHOTS'] === '1' ? join(ROOT, 'docs/images') : undefined;

const jobManagers = useJobManagers();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rest<T>(base: string, path: string): Promise<T> {
  const answer = await call(base, 'GET', path);
  expect(answer.status, `GET ${path}`).toBe(200);
  return answer.body as T;
}

/**
 * Triggers a checkpoint over REST and waits until it completed. A trigger while some task is
 * still starting fails (as Flink's "not all required tasks are currently running"), so it is
 * retried until one completes.
 */
async function checkpoint(base: string, jobId: string): Promise<number> {
  return until(async () => {
    const trigger = await call(base, 'POST', `/jobs/${jobId}/checkpoints`, {
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(trigger.status).toBe(202);
    const path = `/jobs/${jobId}/checkpoints/${String(trigger.body['request-id'])}`;
    const result = await until(async () => {
      const status = await rest<{ status: { id: string }; operation?: { checkpointId?: number } }>(
        base,
        path,
      );
      expect(status.status.id).toBe('COMPLETED');
      return status.operation;
    });
    expect(result?.checkpointId, JSON.stringify(result)).toBeTypeOf('number');
    return result!.checkpointId!;
  }, 30_000);
}

async function texts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
}

/**
 * Headless Chromium on a fresh profile, closed after the test; `problems` collects console
 * errors, page errors, crashes and every HTTP answer >= 400. Confirmation dialogs are accepted.
 */
async function openBrowser(): Promise<{ page: Page; problems: string[] }> {
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 960 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanups.push(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('dialog', (d) => void d.accept());
  return { page, problems };
}

function requireBuiltDashboard(): void {
  if (!existsSync(DASHBOARD_INDEX))
    throw new Error(`${DASHBOARD_INDEX} is missing: run npm run build (npm ci runs it) before this test`);
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(true);
}

describe('the web dashboard in a browser', () => {
  it('shows a running job, its graph and checkpoints, triggers a checkpoint and a savepoint, and cancels the job', async () => {
    if (!existsSync(DASHBOARD_INDEX))
      throw new Error(`${DASHBOARD_INDEX} is missing: run npm run build (npm ci runs it) before this test`);
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(
      true,
    );

    const jm = await jobManagers.start();
    await jobManagers.taskManagers(jm, 2);
    const base = jm.server.url;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-dashboard-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Periodic checkpoints are rare in this job: the ones taken here are all there are, so the
    // page and the REST API can be compared exactly.
    const run = await submit(base, JOB, [dir]);
    expect(run.status).toBe(200);
    const jobId = String(run.body['jobid']);
    await until(async () => {
      const job = await rest<JobDetailsInfo>(base, `/jobs/${jobId}`);
      expect(job.vertices.every((v) => v.status === 'RUNNING')).toBe(true);
    }, 30_000);
    for (let i = 0; i < 3; i++) await checkpoint(base, jobId);
    const job = await rest<JobDetailsInfo>(base, `/jobs/${jobId}`);

    // The REST port's root serves the app and its hashed assets; REST clients still get REST 404s.
    const index = await fetch(`${base}/`);
    expect(index.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="\.\/(assets\/index-[\w-]+\.js)"/u.exec(await index.text())![1]!;
    const asset = await fetch(`${base}/${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=UTF-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const deepLink = await fetch(`${base}/job/${jobId}`, { headers: { Accept: 'text/html' } });
    expect([deepLink.status, deepLink.headers.get('content-type')]).toEqual([
      200,
      'text/html; charset=UTF-8',
    ]);
    expect((await call(base, 'GET', '/nowhere')).body).toEqual({ errors: ['Not found: /nowhere'] });

    const { page, problems } = await openBrowser();

    // The cluster overview: TaskManagers, slots and the running job.
    await page.goto(`${base}/#/overview`);
    await page.locator('[data-testid=job-table] a', { hasText: 'forever' }).waitFor();
    expect(await page.locator('[data-testid=stat-taskmanagers] .stat-value').innerText()).toBe('2');
    expect(await page.locator('[data-testid=stat-slots-total] .stat-value').innerText()).toBe('4');
    expect(await page.locator('[data-testid=stat-jobs-running] .stat-value').innerText()).toBe('1');

    // The job page: one graph node per vertex, with busy and back-pressured shares, not N/A.
    await page.locator('[data-testid=job-table] a', { hasText: 'forever' }).click();
    await page.waitForURL(`**/#/job/${jobId}/overview`);
    await until(async () => {
      expect(await page.locator('[data-testid=graph-node]').count()).toBe(job.vertices.length);
      for (const busy of await texts(page, '[data-testid=node-busy]'))
        expect(busy).toMatch(/^Busy \(max\): \d+%$/u);
      for (const bp of await texts(page, '[data-testid=node-backpressured]'))
        expect(bp).toMatch(/^Backpressured \(max\): \d+%$/u);
    });
    const names = await page.locator('[data-testid=vertex-table] tbody tr td:first-child').allInnerTexts();
    expect(names).toEqual(job.vertices.map((v) => v.name));
    await screenshot(page, 'dashboard-job.png');

    // The Checkpoints tab: the counts and the history the REST API reports.
    await page.getByRole('tab', { name: 'Checkpoints' }).click();
    const stats = await rest<CheckpointingStatistics>(base, `/jobs/${jobId}/checkpoints`);
    expect(stats.counts.completed).toBe(3);
    for (const key of ['total', 'in_progress', 'completed', 'failed', 'restored'] as const)
      await until(async () =>
        expect(await page.locator(`[data-testid=count-${key}] .stat-value`).innerText()).toBe(
          String(stats.counts[key]),
        ),
      );
    await until(async () =>
      expect(await page.locator('[data-testid=latest-completed-id]').innerText({ timeout: 1000 })).toBe(
        String(stats.latest.completed!.id),
      ),
    );
    await page.getByRole('tab', { name: 'History' }).click();
    await until(async () => {
      const rows = await page.locator('[data-testid=history-row]').all();
      const ids = await Promise.all(rows.map((r) => r.getAttribute('data-checkpoint-id')));
      expect(ids).toEqual(stats.history.map((c) => String(c.id)));
    });
    // A checkpoint's operators, then one operator's subtasks.
    await page.locator('[data-testid=history-row]').first().click();
    await until(async () =>
      expect(await page.locator('[data-testid=operator-row]').count()).toBe(job.vertices.length),
    );
    await page.locator('[data-testid=operator-row]').last().click();
    await until(async () =>
      expect(await page.locator('[data-testid=subtask-row]').count()).toBe(job.vertices.at(-1)!.parallelism),
    );
    await screenshot(page, 'dashboard-checkpoints.png');

    // A checkpoint triggered from the page completes, and the history shows it.
    await page.getByTestId('trigger-checkpoint').click();
    const done = page.locator('[data-testid=action-outcome]', { hasText: /^Checkpoint \d+ completed\.$/u });
    await done.waitFor({ timeout: 20_000 });
    const triggered = Number(/\d+/u.exec(await done.innerText())![0]);
    const after = await rest<CheckpointingStatistics>(base, `/jobs/${jobId}/checkpoints`);
    expect(after.history.find((c) => c.id === triggered)?.status).toBe('COMPLETED');
    expect(after.counts.completed).toBe(stats.counts.completed + 1);
    await page.locator(`[data-testid=history-row][data-checkpoint-id="${triggered}"]`).waitFor();

    // A savepoint triggered from the page, into the directory entered there.
    await page.getByTestId('trigger-savepoint').click();
    await page.locator('.savepoint-form input').fill(join(dir, 'savepoints'));
    await page.locator('.savepoint-form button').click();
    const saved = page.locator('[data-testid=action-outcome]', { hasText: /^Savepoint completed at .+\.$/u });
    await saved.waitFor({ timeout: 20_000 });
    const savepoint = (await rest<CheckpointingStatistics>(base, `/jobs/${jobId}/checkpoints`)).latest
      .savepoint;
    expect(await saved.innerText()).toBe(`Savepoint completed at ${savepoint!.external_path}.`);
    expect(savepoint!.external_path.startsWith(join(dir, 'savepoints'))).toBe(true);

    // The other pages of the job and of the cluster render without errors.
    await page.getByRole('tab', { name: 'Timeline' }).click();
    await page.locator('[data-testid=chart-duration] circle').first().waitFor();
    await page.getByRole('tab', { name: 'Exceptions' }).click();
    await page.getByText('No exceptions').waitFor();
    await page.getByRole('tab', { name: 'Configuration' }).click();
    await page.getByText('Execution Configuration').waitFor();
    await page.goto(`${base}/#/taskmanagers`);
    await until(async () =>
      expect(await page.locator('[data-testid=taskmanager-table] tbody tr').count()).toBe(2),
    );
    await page.locator('[data-testid=taskmanager-table] tbody a').first().click();
    await page.locator('[data-testid=process-metrics]').waitFor();
    await page.getByRole('tab', { name: 'Log' }).click();
    await page.locator('.card', { hasText: 'Log' }).locator('pre, .empty').first().waitFor();
    await page.goto(`${base}/#/jobmanager/metrics`);
    await page.locator('[data-testid=process-metrics]').waitFor();

    // Cancel from the page (after confirming): the job ends CANCELED, and the page says so.
    await page.goto(`${base}/#/job/${jobId}/overview`);
    await page.getByTestId('cancel-job').click();
    await until(
      async () => expect((await rest<JobDetailsInfo>(base, `/jobs/${jobId}`)).state).toBe('CANCELED'),
      20_000,
    );
    await page.locator('.job-header .badge', { hasText: 'CANCELED' }).waitFor();

    expect(problems).toEqual([]);
  }, 60_000);

  it('asks for the REST token of a cluster that wants one, and then works with it', async () => {
    requireBuiltDashboard();
    const token = 'dashboard-test-token-0123456789';
    const jm = await jobManagers.start({ 'rest.authentication.token': token });
    const { page, problems } = await openBrowser();
    // The page itself loads without a token (it holds no data); its REST calls are refused.
    await page.goto(`${jm.server.url}/#/overview`);
    const input = page.locator('.token-form input');
    await input.fill(token);
    // The page re-renders as its polls are refused: submit only what the form holds now.
    await until(async () => expect(await input.inputValue({ timeout: 1000 })).toBe(token));
    await page.locator('.token-form button').click();
    await until(async () =>
      expect(
        await page.locator('[data-testid=stat-taskmanagers] .stat-value').innerText({ timeout: 1000 }),
      ).toBe('0'),
    );
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    expect(problems.length).toBeGreaterThan(0);
    // As the first test: a browser and a JobManager start within it, slow on a loaded machine.
  }, 60_000);
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DashboardFiles } from './dashboard-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function built(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-web-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dir, 'assets/index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets/index-AbC123.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'not an asset');
  return dir;
}

describe('the dashboard files', () => {
  it('serves index.html at the root, revalidated on every load', () => {
    const file = new DashboardFiles(built()).resolve('/', '*/*');
    expect(file).toMatchObject({ status: 200, type: 'text/html; charset=UTF-8', cache: 'no-cache' });
    expect(file!.body.toString()).toContain('<title>app</title>');
    expect(new DashboardFiles(built()).resolve('/index.html', undefined)?.status).toBe(200);
  });

  it('serves hashed assets with their content type, cached for good', () => {
    const files = new DashboardFiles(built());
    expect(files.resolve('/assets/index-AbC123.js', '*/*')).toMatchObject({
      status: 200,
      type: 'text/javascript; charset=UTF-8',
      cache: 'public, max-age=31536000, immutable',
    });
    expect(files.resolve('/assets/index-AbC123.css', '*/*')?.type).toBe('text/css; charset=UTF-8');
  });

  it('leaves missing assets, paths outside assets/ and REST clients to the REST API (its 404)', () => {
    const files = new DashboardFiles(built());
    expect(files.resolve('/assets/missing.js', '*/*')).toBeUndefined();
    expect(files.resolve('/assets/..', '*/*')).toBeUndefined();
    expect(files.resolve('/secret.txt', 'text/html')).toBeUndefined();
    expect(files.resolve('/jobs/unknown', 'application/json')).toBeUndefined();
    expect(files.resolve('/jobs/unknown', undefined)).toBeUndefined();
  });

  it('answers a browser navigating to a page path with the app', () => {
    const file = new DashboardFiles(built()).resolve(
      '/job/abc/checkpoints',
      'text/html,application/xhtml+xml',
    );
    expect(file?.status).toBe(200);
    expect(file!.body.toString()).toContain('<title>app</title>');
  });

  it('says to run npm run build when the dashboard was not built', () => {
    const missing = join(tmpdir(), 'sluice-web-never-built');
    const file = new DashboardFiles(missing).resolve('/', 'text/html');
    expect(file).toMatchObject({ status: 503, cache: 'no-store' });
    expect(file!.body.toString()).toContain('npm run build');
  });
});

// Job bundles: one module with the job's imports, from which any process rebuilds the same job graph.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Configuration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { bundleJob, loadJobSubmissions, userCacheDirectory } from './job-bundle.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => join(root, 'test/fixtures', name);
const scratch = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function shape(submission: Awaited<ReturnType<typeof loadJobSubmissions>>[number]) {
  return submission.jobGraph.vertices.map((v) => ({
    id: v.id,
    name: v.name,
    parallelism: v.parallelism,
    inputs: v.inputs.length,
  }));
}

describe('job bundles', () => {
  it('bundle the job with its imports but keep sluice external', async () => {
    const code = new TextDecoder().decode(await bundleJob(fixture('sum-job.ts')));
    expect(code).toMatch(/from "sluice"/u);
    expect(code).not.toContain('class StreamExecutionEnvironment');
  });

  it('give a process the job graph without running the code after execute()', async () => {
    const bundle = await bundleJob(fixture('sum-job.ts'));
    const log = vi.spyOn(console, 'log');
    const [graph] = await loadJobSubmissions(bundle, { configuration: new Configuration(), argv: ['10'] });
    expect(graph!.jobGraph.jobName).toBe('sum-job');
    expect(shape(graph!).map((v) => v.name)).toEqual([
      'Sequence Source -> Map',
      'Keyed Aggregation -> Collect Sink',
    ]);
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
  });

  it('rebuild the same vertex ids in another process (how TaskManagers find their operators)', async () => {
    const bundle = await bundleJob(fixture('sum-job.ts'));
    const [here] = await loadJobSubmissions(bundle, { configuration: new Configuration() });
    const bundlePath = join(scratch, 'job.mjs');
    writeFileSync(bundlePath, bundle);
    const script = join(scratch, 'load.mts');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
       import { Configuration } from ${JSON.stringify(join(root, 'src/core/configuration.ts'))};
       import { loadJobSubmissions } from ${JSON.stringify(join(root, 'src/cluster/job-bundle.ts'))};
       const [{ jobGraph: g }] = await loadJobSubmissions(readFileSync(${JSON.stringify(bundlePath)}), { configuration: new Configuration() });
       process.stdout.write(JSON.stringify(g.vertices.map((v) => ({ id: v.id, name: v.name, parallelism: v.parallelism, inputs: v.inputs.length }))));
       process.exit(0);`,
    );
    // The bundle's `sluice` must resolve to the sources the script imports, as in bin/sluice.js.
    const out = execFileSync(process.execPath, ['--conditions=sluice-source', '--import', 'tsx', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' },
    });
    expect(JSON.parse(out)).toEqual(shape(here!));
  });

  it("keep class names, which registered classes are known by, when two modules' classes share one", async () => {
    // Written at test time: two modules each declaring `class Event`, which esbuild must rename in one scope.
    const dir = mkdtempSync(join(scratch, 'names-'));
    writeFileSync(join(dir, 'clicks.ts'), 'export class Event { click = 1; }\n');
    writeFileSync(join(dir, 'orders.ts'), 'export class Event { order = 1; }\n');
    writeFileSync(
      join(dir, 'job.ts'),
      `import { StreamExecutionEnvironment } from 'sluice';
       import { Event as Click } from './clicks.js';
       import { Event as Order } from './orders.js';
       const env = StreamExecutionEnvironment.getExecutionEnvironment();
       env.registerType(Order, 'orders.Event').registerType(Click);
       env.fromData(new Click()).print();
       await env.execute('names');\n`,
    );
    const [submission] = await loadJobSubmissions(await bundleJob(join(dir, 'job.ts')), {
      configuration: new Configuration(),
    });
    expect(submission!.types?.entries().map((e) => [e.name, e.cls.name])).toEqual([
      ['orders.Event', 'Event'],
      ['Event', 'Event'],
    ]);
  });

  it('name the file and line of a syntax error', async () => {
    // Written at test time: a broken file in the repository would break the type check and lint.
    const broken = join(scratch, 'broken-job.ts');
    writeFileSync(
      broken,
      "import { StreamExecutionEnvironment } from 'sluice';\n\nconst env = StreamExecutionEnvironment.getExecutionEnvironment(;\n",
    );
    const error = await bundleJob(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_CLI_USAGE');
    expect((error as SluiceError).message).toMatch(/broken-job\.ts:3: /u);
  });

  it('say so when the module submits no job', async () => {
    const bundle = await bundleJob(fixture('no-execute-job.ts'));
    const error = await loadJobSubmissions(bundle, { configuration: new Configuration() }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).message).toContain("The program didn't contain a Sluice job");
    expect((error as SluiceError).message).toContain('Perhaps you forgot to call execute()?');
  });

  describe('in the user cache directory', () => {
    const previous = process.env['XDG_CACHE_HOME'];
    afterEach(() => {
      if (previous === undefined) delete process.env['XDG_CACHE_HOME'];
      else process.env['XDG_CACHE_HOME'] = previous;
    });

    it('are loaded from $XDG_CACHE_HOME/sluice, where node_modules/sluice leads to this installation', async () => {
      const cache = mkdtempSync(join(scratch, 'xdg-'));
      process.env['XDG_CACHE_HOME'] = cache;
      const bundle = await bundleJob(fixture('sum-job.ts'));
      const [graph] = await loadJobSubmissions(bundle, { configuration: new Configuration(), argv: ['10'] });
      expect(graph!.jobGraph.jobName).toBe('sum-job');
      const installs = readdirSync(join(cache, 'sluice'));
      expect(installs).toHaveLength(1);
      const dir = join(cache, 'sluice', installs[0]!);
      expect(readlinkSync(join(dir, 'node_modules', 'sluice'))).toBe(realpathSync(root));
      // Loaded, then removed: nothing of the job stays behind.
      expect(readdirSync(join(dir, 'jobs'))).toEqual([]);
    });

    it('refuse a cache directory others can write to (its files get imported)', () => {
      const cache = mkdtempSync(join(scratch, 'xdg-'));
      mkdirSync(join(cache, 'sluice'));
      chmodSync(join(cache, 'sluice'), 0o777);
      process.env['XDG_CACHE_HOME'] = cache;
      const error = (() => {
        try {
          return userCacheDirectory();
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).message).toMatch(
        /not a directory of your own that only you can write to/u,
      );
    });
  });
});

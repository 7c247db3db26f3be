/** Configuration: typed reads, aliases and unknown keys, layering, YAML files and -D arguments. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { enumOption, intOption } from './config-option.js';
import { CheckpointingOptions, ClusterOptions, PipelineOptions, RestartOptions } from './config-options.js';
import {
  Configuration,
  isSensitiveKey,
  loadConfigFile,
  loadConfiguration,
  parseDuration,
  parseDynamicProperties,
  parseMemorySize,
} from './configuration.js';
import { SluiceError } from './errors.js';

function thrown(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected a SluiceError');
}

/** A Configuration whose warnings are collected instead of logged. */
function recording(): { conf: Configuration; warnings: string[] } {
  const warnings: string[] = [];
  return { conf: new Configuration({ warn: (message) => warnings.push(message) }), warnings };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('Configuration', () => {
  it('returns defaults until a value is set', () => {
    const { conf } = recording();
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(1);
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBeUndefined();
    expect(conf.getOptional(ClusterOptions.TASK_MANAGERS)).toBeUndefined();
    expect(conf.getOptional(PipelineOptions.DEFAULT_PARALLELISM)).toBe(1);
    expect(conf.contains(PipelineOptions.DEFAULT_PARALLELISM)).toBe(false);

    conf.set(PipelineOptions.DEFAULT_PARALLELISM, 4).set(CheckpointingOptions.CHECKPOINTING_INTERVAL, '10s');
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(4);
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBe(10_000);
    expect(conf.contains(PipelineOptions.DEFAULT_PARALLELISM)).toBe(true);
  });

  it('types reads by whether the option has a default', () => {
    const { conf } = recording();
    expectTypeOf(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toEqualTypeOf<number>();
    expectTypeOf(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toEqualTypeOf<number | undefined>();
    expectTypeOf(conf.get(PipelineOptions.RUNTIME_MODE)).toEqualTypeOf<'STREAMING' | 'BATCH' | 'AUTOMATIC'>();
    expectTypeOf(conf.get(RestartOptions.RESTART_STRATEGY)).toEqualTypeOf<
      'none' | 'fixed-delay' | 'failure-rate' | 'exponential-delay' | undefined
    >();
    // @ts-expect-error a default outside the declared values does not compile
    expect(() => enumOption('x.mode', ['A', 'B'], 'C', 'test')).toThrow(SluiceError);
  });

  it('fails fast on a bad value, naming key, value and expectation', () => {
    const { conf } = recording();
    expect(thrown(() => conf.set(PipelineOptions.DEFAULT_PARALLELISM, 0)).message).toBe(
      'parallelism.default: 0 is out of range; expected an integer of at least 1',
    );
    const error = thrown(() =>
      conf.setString('execution.checkpointing.interval', '10 apples', 'sluice.yaml'),
    );
    expect(error.code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toBe(
      'execution.checkpointing.interval: "10 apples" is not a duration; expected a number with a unit such as ' +
        '500ms, 10s, 5min, 1h (from sluice.yaml)',
    );
    expect(conf.contains(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBe(false);
  });

  it('moves a deprecated key to its new key and warns once', () => {
    const { conf, warnings } = recording();
    conf.setString('state.checkpoints.dir', '/tmp/a', 'sluice.yaml');
    conf.setString('state.checkpoints.dir', '/tmp/b', '-D');
    expect(warnings).toEqual([
      'state.checkpoints.dir is deprecated; use execution.checkpointing.dir (from sluice.yaml)',
    ]);
    expect(conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).toBe('/tmp/b');
    expect(conf.toMap()).toEqual({ 'execution.checkpointing.dir': '/tmp/b' });
  });

  it('prefers the new key over a deprecated one from the same source, whatever the order', () => {
    const { conf, warnings } = recording();
    conf.addAll(
      { 'execution.checkpointing.num-retained': '3', 'state.checkpoints.num-retained': '5' },
      'sluice.yaml',
    );
    expect(conf.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS)).toBe(3);
    expect(warnings).toContain(
      'state.checkpoints.num-retained and execution.checkpointing.num-retained are both set (from sluice.yaml); ' +
        'using execution.checkpointing.num-retained',
    );
  });

  it('keeps unknown keys as text and suggests the nearest known key', () => {
    const { conf, warnings } = recording();
    conf.setString('execution.checkpointing.intervall', '1s', 'sluice.yaml');
    conf.setString('my.connector.url', 'http://x');
    expect(warnings).toEqual([
      'unknown config key "execution.checkpointing.intervall" (from sluice.yaml); did you mean "execution.checkpointing.interval"?',
      'unknown config key "my.connector.url"',
    ]);
    expect(conf.getString('my.connector.url')).toBe('http://x');
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBeUndefined();
  });

  it('suggests the new key when the typo is closest to a deprecated one', () => {
    const { conf, warnings } = recording();
    conf.setString('state.checkpoint.dir', '/x');
    expect(warnings[0]).toContain('did you mean "execution.checkpointing.dir"?');
  });

  it('reads an option Sluice does not register from its text, under its deprecated key too', () => {
    const { conf } = recording();
    const custom = intOption('my.connector.batch', 10, 'test', {
      deprecatedKeys: ['my.connector.batch-size'],
    });
    conf.setString('my.connector.batch-size', '25');
    expect(conf.get(custom)).toBe(25);
    expect(conf.contains(custom)).toBe(true);
  });

  it('merges with the other side winning, leaving both unchanged', () => {
    const { conf: base } = recording();
    base.set(PipelineOptions.DEFAULT_PARALLELISM, 2).set(PipelineOptions.NAME, 'base');
    const { conf: job } = recording();
    job.set(PipelineOptions.DEFAULT_PARALLELISM, 8);
    const merged = base.merge(job);
    expect(merged.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(8);
    expect(merged.get(PipelineOptions.NAME)).toBe('base');
    expect(base.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(2);
  });

  it('clones independently', () => {
    const { conf } = recording();
    conf.set(PipelineOptions.OBJECT_REUSE, true);
    const copy = conf.clone().set(PipelineOptions.OBJECT_REUSE, false);
    expect(conf.get(PipelineOptions.OBJECT_REUSE)).toBe(true);
    expect(copy.get(PipelineOptions.OBJECT_REUSE)).toBe(false);
  });

  it('lists set keys as sorted text and hides secrets', () => {
    const { conf } = recording();
    conf
      .set(CheckpointingOptions.CHECKPOINTING_INTERVAL, 10_000)
      .set(CheckpointingOptions.FS_SMALL_FILE_THRESHOLD, '20kb')
      .set(RestartOptions.RESTART_STRATEGY, 'fixeddelay')
      .set(ClusterOptions.CLUSTER_SECRET, 'hunter2')
      .setString('s3.secret-key', 'abc')
      .setString('a.custom', 'x');
    expect(conf.toMap()).toEqual({
      'a.custom': 'x',
      'execution.checkpointing.data-inline-threshold': '20 kb',
      'execution.checkpointing.interval': '10 s',
      'restart-strategy.type': 'fixed-delay',
      's3.secret-key': '******',
      'security.cluster.secret': '******',
    });
    expect(Object.keys(conf.toMap())).toEqual(Object.keys(conf.toMap()).sort());
    expect(conf.toMap({ redactSecrets: false })['security.cluster.secret']).toBe('hunter2');
    expect(isSensitiveKey('rest.auth.password')).toBe(true);
    expect(isSensitiveKey('rest.port')).toBe(false);
  });

  it('re-exports the parsing helpers', () => {
    expect(parseDuration('2 min')).toBe(120_000);
    expect(parseMemorySize('1 mb')).toBe(1024 * 1024);
  });
});

describe('parseDynamicProperties', () => {
  it('reads -Dkey=value, -D key=value and key=value', () => {
    expect(
      parseDynamicProperties([
        '-Dparallelism.default=2',
        '-D',
        'pipeline.name=a=b',
        'rest.port=0',
        '-Dx.empty=',
      ]),
    ).toEqual({ 'parallelism.default': '2', 'pipeline.name': 'a=b', 'rest.port': '0', 'x.empty': '' });
  });

  it('explains a missing "=" or key', () => {
    const error = thrown(() => parseDynamicProperties(['-Dexecution.checkpointing.interval']));
    expect(error.code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toBe(
      '-D "execution.checkpointing.interval" has no "="; expected -D key=value, e.g. -D execution.checkpointing.interval=10s',
    );
    expect(thrown(() => parseDynamicProperties(['-D=5'])).message).toContain('has no key');
    expect(thrown(() => parseDynamicProperties(['-D'])).message).toContain('-D is missing its key=value');
  });

  it('cannot be tricked into touching the prototype', () => {
    const properties = parseDynamicProperties(['-D__proto__=x']);
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype);
    expect(properties['__proto__']).toBe('x');
  });
});

describe('loadConfigFile', () => {
  it('accepts flat and nested keys, mixed', () => {
    const path = file(
      'conf.yaml',
      [
        'execution.checkpointing.interval: 1s',
        'execution:',
        '  checkpointing:',
        '    timeout: 5 min',
        '    mode: AT_LEAST_ONCE',
        '  runtime-mode: streaming',
        'parallelism:',
        '  default: 4',
        'pipeline.object-reuse: true',
        'rest.port: 0',
        'execution.checkpointing.dir:',
        'my.list: [a, b]',
        '',
      ].join('\n'),
    );
    expect(loadConfigFile(path)).toEqual({
      'execution.checkpointing.interval': '1s',
      'execution.checkpointing.timeout': '5 min',
      'execution.checkpointing.mode': 'AT_LEAST_ONCE',
      'execution.runtime-mode': 'streaming',
      'parallelism.default': '4',
      'pipeline.object-reuse': 'true',
      'rest.port': '0',
      'my.list': 'a;b',
    });
  });

  it('treats an empty file as no settings', () => {
    expect(loadConfigFile(file('empty.yaml', '# nothing yet\n'))).toEqual({});
  });

  it('names the path for a missing file', () => {
    const path = join(dir, 'missing.yaml');
    const error = thrown(() => loadConfigFile(path));
    expect(error.code).toBe('SLUICE_CONFIG_INVALID_FILE');
    expect(error.message).toBe(`${path}: cannot read config file: no such file`);
  });

  it('names path and line for invalid YAML', () => {
    const path = file('bad.yaml', 'rest.port: 8081\nexecution: [unclosed\n');
    const error = thrown(() => loadConfigFile(path));
    expect(error.code).toBe('SLUICE_CONFIG_INVALID_FILE');
    expect(error.message).toMatch(
      new RegExp(`^${path.replace(/[.\\/]/gu, '\\$&')}:\\d+: invalid YAML: `, 'u'),
    );
  });

  it('rejects a top level that is not a mapping', () => {
    const path = file('list.yaml', '\n- rest.port: 1\n');
    expect(thrown(() => loadConfigFile(path)).message).toBe(
      `${path}:2: expected a mapping of config keys at the top level, found a list`,
    );
  });

  it('rejects a key set twice, flat and nested', () => {
    const path = file('twice.yaml', 'rest.port: 1\nrest:\n  port: 2\n');
    expect(thrown(() => loadConfigFile(path)).message).toBe(
      `${path}:3: "rest.port" is set twice (also on line 1)`,
    );
  });

  it('rejects duplicate YAML keys with their line', () => {
    const path = file('dup.yaml', 'rest.port: 1\nrest.port: 2\n');
    expect(thrown(() => loadConfigFile(path)).message).toContain(`${path}:2: invalid YAML`);
  });
});

describe('loadConfiguration', () => {
  it('layers defaults < sluice.yaml < -D', () => {
    file(
      'sluice.yaml',
      'parallelism.default: 2\npipeline.name: from-file\nexecution:\n  checkpointing:\n    interval: 30s\n',
    );
    const warnings: string[] = [];
    const conf = loadConfiguration({
      cwd: dir,
      env: {},
      dynamic: ['-Dparallelism.default=3'],
      warn: (message) => warnings.push(message),
    });
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(3);
    expect(conf.get(PipelineOptions.NAME)).toBe('from-file');
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBe(30_000);
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT)).toBe(600_000);
    expect(warnings).toEqual([]);
    // Code is the last layer.
    expect(conf.set(PipelineOptions.DEFAULT_PARALLELISM, 5).get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(5);
  });

  it('uses an explicit config file instead of sluice.yaml, relative to cwd', () => {
    file('sluice.yaml', 'parallelism.default: 2\n');
    file('other.yaml', 'pipeline.name: other\n');
    const conf = loadConfiguration({
      cwd: dir,
      env: {},
      configFile: 'other.yaml',
      dynamic: { 'rest.port': '0' },
    });
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(1);
    expect(conf.get(PipelineOptions.NAME)).toBe('other');
    expect(conf.toMap()).toEqual({ 'pipeline.name': 'other', 'rest.port': '0' });
  });

  it('works without any file', () => {
    expect(loadConfiguration({ cwd: dir, env: {} }).toMap()).toEqual({});
  });

  it('fails when an explicit config file is missing', () => {
    expect(thrown(() => loadConfiguration({ cwd: dir, env: {}, configFile: 'nope.yaml' })).code).toBe(
      'SLUICE_CONFIG_INVALID_FILE',
    );
  });

  it('names the file in value errors and warnings', () => {
    file('sluice.yaml', 'state.backend.incremental: maybe\n');
    expect(thrown(() => loadConfiguration({ cwd: dir, env: {}, warn: () => undefined })).message).toBe(
      'execution.checkpointing.incremental: "maybe" is not a boolean; expected true or false (from sluice.yaml:1)',
    );
    file('sluice.yaml', 'state.backend.incremental: true\n');
    const warnings: string[] = [];
    loadConfiguration({ cwd: dir, env: {}, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([
      'state.backend.incremental is deprecated; use execution.checkpointing.incremental (from sluice.yaml:1)',
    ]);
  });

  it('names -D as the origin of a bad dynamic property', () => {
    const error = thrown(() =>
      loadConfiguration({ cwd: dir, env: {}, dynamic: { 'heartbeat.timeout': 'soon' } }),
    );
    expect(error.message).toMatch(/^heartbeat\.timeout: "soon" is not a duration; .* \(from -D\)$/u);
  });
});

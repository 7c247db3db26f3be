/** Flink's configuration files: where one is found, its two formats, and the layers above it. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointingOptions,
  ClusterOptions,
  PipelineOptions,
  RestartOptions,
  RestOptions,
} from './config-options.js';
import { findConfigFile, readConfigFile } from './configuration-files.js';
import { loadConfiguration, type LoadConfigurationSettings } from './configuration.js';
import { throwsWith } from '../../test/support/helpers.js';

let root: string;
/** The working directory of each load. */
let cwd: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-conf-files-'));
  cwd = join(root, 'work');
  mkdirSync(cwd);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes `text` to `path` under the temporary root, creating its directory. */
function write(path: string, text: string): string {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** loadConfiguration in `cwd` with only the given environment, recording warnings and the announcement. */
function load(settings: Omit<LoadConfigurationSettings, 'cwd' | 'warn' | 'info'> = {}) {
  const warnings: string[] = [];
  const infos: string[] = [];
  const conf = loadConfiguration({
    cwd,
    env: {},
    ...settings,
    warn: (message) => warnings.push(message),
    info: (message) => infos.push(message),
  });
  return { conf, warnings, infos };
}

describe('where the configuration file is found', () => {
  it('reads config.yaml from the working directory and says so in one line', () => {
    write('work/config.yaml', 'parallelism.default: 3\n');
    const { conf, infos } = load();
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(3);
    expect(infos).toEqual(['configuration from config.yaml (working directory)']);
  });

  it('reads flink-conf.yaml from the working directory', () => {
    write('work/flink-conf.yaml', 'parallelism.default: 4\n');
    const { conf, infos } = load();
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(4);
    expect(infos).toEqual(['configuration from flink-conf.yaml (working directory)']);
  });

  it('reads the directory in $SLUICE_CONF_DIR, then the one in $FLINK_CONF_DIR, before the working directory', () => {
    write('work/config.yaml', 'pipeline.name: working-directory\n');
    const sluiceDir = join(root, 'sluice-conf');
    const flinkDir = join(root, 'flink-conf');
    write('sluice-conf/config.yaml', 'pipeline.name: sluice-conf-dir\n');
    write('flink-conf/flink-conf.yaml', 'pipeline.name: flink-conf-dir\n');

    const both = load({ env: { SLUICE_CONF_DIR: sluiceDir, FLINK_CONF_DIR: flinkDir } });
    expect(both.conf.get(PipelineOptions.NAME)).toBe('sluice-conf-dir');
    expect(both.infos).toEqual([`configuration from ${join(sluiceDir, 'config.yaml')} ($SLUICE_CONF_DIR)`]);

    const flink = load({ env: { FLINK_CONF_DIR: flinkDir } });
    expect(flink.conf.get(PipelineOptions.NAME)).toBe('flink-conf-dir');
    expect(flink.infos).toEqual([
      `configuration from ${join(flinkDir, 'flink-conf.yaml')} ($FLINK_CONF_DIR)`,
    ]);

    expect(load({ env: { FLINK_CONF_DIR: '' } }).conf.get(PipelineOptions.NAME)).toBe('working-directory');
  });

  it('reads --config before any other place: a file, or a directory holding one', () => {
    write('work/config.yaml', 'pipeline.name: working-directory\n');
    write('conf/flink-conf.yaml', 'pipeline.name: conf-dir\n');
    write('work/job.yaml', 'pipeline.name: job-file\n');
    const env = { FLINK_CONF_DIR: join(root, 'conf') };

    const asFile = load({ configFile: 'job.yaml', env });
    expect(asFile.conf.get(PipelineOptions.NAME)).toBe('job-file');
    expect(asFile.infos).toEqual(['configuration from job.yaml (--config)']);

    const asDirectory = load({ configFile: '../conf', env: {} });
    expect(asDirectory.conf.get(PipelineOptions.NAME)).toBe('conf-dir');
    expect(asDirectory.infos).toEqual([
      `configuration from ${join(root, 'conf/flink-conf.yaml')} (--config)`,
    ]);
  });

  it('reads one file per directory: sluice.yaml, else config.yaml, else flink-conf.yaml, and warns about the others', () => {
    write('work/flink-conf.yaml', 'parallelism.default: 1\n');
    write('work/config.yaml', 'parallelism.default: 2\n');
    expect(load().conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(2);
    write('work/sluice.yaml', 'parallelism.default: 3\n');
    const { conf, warnings } = load();
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(3);
    expect(warnings).toEqual([
      'config.yaml is not read: sluice.yaml beside it is (one configuration file is read)',
      'flink-conf.yaml is not read: sluice.yaml beside it is (one configuration file is read)',
    ]);
  });

  it('announces nothing when there is no file and no environment', () => {
    const { conf, infos } = load();
    expect(conf.toMap()).toEqual({});
    expect(infos).toEqual([]);
  });

  it('announces the same sources only once per sink', () => {
    write('work/config.yaml', 'parallelism.default: 3\n');
    const infos: string[] = [];
    const info = (message: string): void => void infos.push(message);
    loadConfiguration({ cwd, env: {}, info });
    loadConfiguration({ cwd, env: {}, info });
    expect(infos).toEqual(['configuration from config.yaml (working directory)']);
  });

  it('fails naming the variable when $SLUICE_CONF_DIR or $FLINK_CONF_DIR is no directory with a file', () => {
    const missing = throwsWith(
      () => findConfigFile({ cwd, env: { FLINK_CONF_DIR: join(root, 'nope') } }),
      'SLUICE_CONFIG_INVALID_FILE',
    );
    expect(missing.message).toBe(
      `FLINK_CONF_DIR=${join(root, 'nope')}: no such directory; set it to the directory holding sluice.yaml, config.yaml, flink-conf.yaml, or unset it`,
    );
    mkdirSync(join(root, 'empty'));
    const empty = throwsWith(
      () => findConfigFile({ cwd, env: { SLUICE_CONF_DIR: join(root, 'empty') } }),
      'SLUICE_CONFIG_INVALID_FILE',
    );
    expect(empty.message).toBe(
      `SLUICE_CONF_DIR=${join(root, 'empty')}: the directory has no configuration file; expected one of sluice.yaml, config.yaml, flink-conf.yaml`,
    );
    const notDir = write('work/file.txt', '');
    expect(
      throwsWith(
        () => findConfigFile({ cwd, env: { SLUICE_CONF_DIR: notDir } }),
        'SLUICE_CONFIG_INVALID_FILE',
      ).message,
    ).toContain('not a directory');
  });

  it('fails when --config names nothing, or a directory without a configuration file', () => {
    expect(throwsWith(() => load({ configFile: 'nope.yaml' }), 'SLUICE_CONFIG_INVALID_FILE').message).toBe(
      'nope.yaml: cannot read config file: no such file',
    );
    mkdirSync(join(cwd, 'conf'));
    expect(throwsWith(() => load({ configFile: 'conf' }), 'SLUICE_CONFIG_INVALID_FILE').message).toBe(
      'conf: the directory has no configuration file; expected one of sluice.yaml, config.yaml, flink-conf.yaml',
    );
  });
});

describe('config.yaml (Flink 2)', () => {
  it('takes nested and flat keys, mixed, as Flink 2 does', () => {
    write(
      'work/config.yaml',
      [
        'restart-strategy:',
        '  type: failure-rate',
        '  failure-rate:',
        '    delay: 1 s',
        '    failure-rate-interval: 1 min',
        '    max-failures-per-interval: 1',
        'execution.checkpointing.interval: 10s',
        'rest:',
        '  port: 0',
        '',
      ].join('\n'),
    );
    const { conf, warnings } = load();
    expect(conf.get(RestartOptions.RESTART_STRATEGY)).toBe('failure-rate');
    expect(conf.get(RestartOptions.RESTART_STRATEGY_FAILURE_RATE_DELAY)).toBe(1000);
    expect(conf.get(RestartOptions.RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL)).toBe(60_000);
    expect(conf.get(RestartOptions.RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL)).toBe(1);
    expect(conf.get(CheckpointingOptions.CHECKPOINTING_INTERVAL)).toBe(10_000);
    expect(conf.get(RestOptions.PORT)).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('keeps lists and lists of maps of keys it does not know in Flink’s text form', () => {
    const path = write(
      'work/config.yaml',
      [
        'my.list: [a, b, "c;d"]',
        'pipeline.cached-files:',
        '  - name: file1',
        "    path: 'file:///tmp/file1'",
        '  - {name: file2, path: hdfs:///tmp/file2}',
        '',
      ].join('\n'),
    );
    expect(readConfigFile(path)).toEqual([
      { key: 'my.list', text: "a;b;'c;d'", line: 1 },
      {
        key: 'pipeline.cached-files',
        text: "name:file1,path:'file:///tmp/file1';name:file2,path:'hdfs:///tmp/file2'",
        line: 2,
      },
    ]);
  });

  it('warns once about each key Sluice does not know, naming file and line', () => {
    write(
      'work/config.yaml',
      'taskmanager:\n  memory:\n    process.size: 1728m\n    segment-sise: 64kb\nparallelism.defualt: 2\n',
    );
    const { conf, warnings } = load();
    expect(conf.getString('taskmanager.memory.process.size')).toBe('1728m');
    expect(warnings).toEqual([
      '"taskmanager.memory.process.size" is a Flink option Sluice does not use; it has no effect (from config.yaml:3)',
      // A near miss of a key Sluice knows is a typo, even in a Flink-only family.
      'unknown config key "taskmanager.memory.segment-sise" (from config.yaml:4); did you mean "taskmanager.memory.segment-size"?',
      'unknown config key "parallelism.defualt" (from config.yaml:5); did you mean "parallelism.default"?',
    ]);
  });

  it('names the file, line, key and what was expected for a bad value', () => {
    write('work/config.yaml', 'execution:\n  checkpointing:\n    interval: 10 apples\n');
    const error = throwsWith(() => load(), 'SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toBe(
      'execution.checkpointing.interval: "10 apples" is not a duration; expected a number with a unit such as 500ms, 10s, 5min, 1h (from config.yaml:3)',
    );
  });
});

describe('flink-conf.yaml (Flink 1)', () => {
  it('reads `key: value` lines as Flink 1 does', () => {
    const path = write(
      'work/flink-conf.yaml',
      [
        '###########################',
        '# Some : comments : to skip',
        'mykey1: myvalue1',
        'mykey2       : myvalue2',
        '   ',
        'mykey4: myvalue4# some comments',
        '   mykey5    :    myvalue5    ',
        'mykey6: my: value6',
        'mykey7: ',
        'mykey8:',
        'mykey9: myvalue9',
        "mykey10: 'quoted'",
        'mykey9: myvalue10',
        '',
      ].join('\n'),
    );
    expect(readConfigFile(path, 'flink-conf.yaml')).toEqual([
      { key: 'mykey1', text: 'myvalue1', line: 3 },
      { key: 'mykey2', text: 'myvalue2', line: 4 },
      { key: 'mykey4', text: 'myvalue4', line: 6 },
      { key: 'mykey5', text: 'myvalue5', line: 7 },
      { key: 'mykey6', text: 'my: value6', line: 8 },
      // Taken as written, as Flink 1 does: YAML quoting is not undone.
      { key: 'mykey10', text: "'quoted'", line: 12 },
      // A later line wins.
      { key: 'mykey9', text: 'myvalue10', line: 13 },
    ]);
  });

  it('refuses a line that is not `key: value` (Flink skips it), naming file and line', () => {
    write('work/flink-conf.yaml', 'parallelism.default: 2\nrest.port:8082\n');
    const error = throwsWith(() => load(), 'SLUICE_CONFIG_INVALID_FILE');
    expect(error.message).toBe(
      'flink-conf.yaml:2: "rest.port:8082" is not "key: value" (a space must follow the colon)',
    );
    write('work/flink-conf.yaml', ': 8082\n');
    expect(throwsWith(() => load(), 'SLUICE_CONFIG_INVALID_FILE').message).toBe(
      'flink-conf.yaml:1: ": 8082" has no key',
    );
  });

  it('names the file, line, key and what was expected for a bad value', () => {
    write('work/flink-conf.yaml', '# restarts\nrestart-strategy.fixed-delay.attempts: many\n');
    const error = throwsWith(() => load(), 'SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toMatch(
      /^restart-strategy\.fixed-delay\.attempts: "many" is not an integer; expected .* \(from flink-conf\.yaml:2\)$/u,
    );
  });
});

describe('the layers: file < environment < -D < code', () => {
  it('applies $FLINK_PROPERTIES, then $SLUICE_PROPERTIES over the file, and -D over both', () => {
    write(
      'work/config.yaml',
      'parallelism.default: 2\npipeline.name: file\nrest.port: 1\nheartbeat.interval: 1s\n',
    );
    const { conf, infos } = load({
      env: {
        FLINK_PROPERTIES: 'pipeline.name: flink-properties\nrest.port: 2\nheartbeat.interval: 2s\n',
        SLUICE_PROPERTIES: 'rest.port: 3\nheartbeat.interval: 3s\n',
      },
      dynamic: ['-D', 'heartbeat.interval=4s'],
    });
    expect(conf.get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(2);
    expect(conf.get(PipelineOptions.NAME)).toBe('flink-properties');
    expect(conf.get(RestOptions.PORT)).toBe(3);
    expect(conf.get(ClusterOptions.HEARTBEAT_INTERVAL)).toBe(4000);
    expect(infos).toEqual([
      'configuration from config.yaml (working directory), then $FLINK_PROPERTIES, then $SLUICE_PROPERTIES',
    ]);
    // Code is the last layer.
    expect(conf.set(PipelineOptions.DEFAULT_PARALLELISM, 5).get(PipelineOptions.DEFAULT_PARALLELISM)).toBe(5);
  });

  it('names the variable and line of a bad environment property', () => {
    const badValue = throwsWith(
      () => load({ env: { FLINK_PROPERTIES: 'rest.port: 0\nparallelism.default: zero\n' } }),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(badValue.message).toMatch(/^parallelism\.default: "zero" .* \(from \$FLINK_PROPERTIES line 2\)$/u);
    const badLine = throwsWith(
      () => load({ env: { SLUICE_PROPERTIES: 'rest.port=0' } }),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(badLine.message).toBe(
      '$SLUICE_PROPERTIES line 1: "rest.port=0" is not "key: value" (a space must follow the colon)',
    );
  });
});

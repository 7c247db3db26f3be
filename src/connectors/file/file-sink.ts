/**
 * The exactly-once file sink (Flink's `FileSink`): records go to in-progress part files in bucket
 * directories; at a checkpoint barrier files that roll become pending (still hidden), and they are
 * renamed to their finished names when the checkpoint completes. Readers that skip hidden files
 * (names starting with '.') never see uncommitted data.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Committer, SupportsCommitter } from '../../api/committer.js';
import type { InitContext, Sink, SupportsWriterState } from '../../api/sink.js';
import { SluiceError } from '../../core/errors.js';
import { type BucketAssigner, DateTimeBucketAssigner } from './bucket-assigner.js';
import { localPath } from './local-path.js';
import type { BulkWriterFactoryLike } from './bulk-format.js';
import type { Encoder } from './encoders.js';
import { FileCommitter } from './file-committer.js';
import { FileWriter, type FileWriterSettings, type FileWriterState } from './file-writer.js';
import { OutputFileConfig } from './output-file-config.js';
import type { FileSinkCommittable } from './part-file.js';
import { DefaultRollingPolicy, OnCheckpointRollingPolicy, type RollingPolicy } from './rolling-policy.js';

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_PROGRAM_INVALID', message);
}

function asAssigner<T>(assigner: unknown): BucketAssigner<T> {
  if (typeof assigner === 'function') return { getBucketId: assigner as BucketAssigner<T>['getBucketId'] };
  if (typeof (assigner as BucketAssigner<T> | null)?.getBucketId !== 'function')
    throw invalid(
      'FileSink.withBucketAssigner() needs a BucketAssigner (an object with getBucketId(element, context)), e.g. new DateTimeBucketAssigner().',
    );
  return assigner as BucketAssigner<T>;
}

function asPolicy<T>(policy: unknown): RollingPolicy<T> {
  const p = policy as Partial<RollingPolicy<T>> | null;
  if (
    typeof p?.shouldRollOnCheckpoint !== 'function' ||
    typeof p.shouldRollOnEvent !== 'function' ||
    typeof p.shouldRollOnProcessingTime !== 'function'
  )
    throw invalid(
      'FileSink.withRollingPolicy() needs a RollingPolicy, e.g. DefaultRollingPolicy.builder().build() or OnCheckpointRollingPolicy.build().',
    );
  return p as RollingPolicy<T>;
}

/** Deletes hidden part files of `uids` begun after the restored checkpoint (index ≥ the recorded counter). */
function removeFilesBegunLater(basePath: string, states: readonly FileWriterState[], prefix: string): void {
  if (states.length === 0 || !fs.existsSync(basePath)) return;
  const counters = new Map(states.map((s) => [s.uid, s.partCounter]));
  const pattern = new RegExp(
    `^\\.${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(.+)-(\\d+).*\\.inprogress\\.`,
  );
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        visit(full);
        continue;
      }
      const m = pattern.exec(entry.name);
      if (m === null) continue;
      const counter = counters.get(m[1]!);
      if (counter !== undefined && Number(m[2]) >= counter) fs.rmSync(full, { force: true });
    }
  };
  visit(basePath);
}

export class FileSink<T>
  implements Sink<T>, SupportsCommitter<FileSinkCommittable>, SupportsWriterState<T, FileWriterState>
{
  /** @internal Built by FileSink.forRowFormat / forBulkFormat. */
  constructor(private readonly settings: FileWriterSettings<T>) {}

  /** A sink of part files with one encoded record after the other (lines, JSON lines). */
  static forRowFormat<T>(basePath: unknown, encoder: Encoder<T>): RowFormatBuilder<T> {
    if (typeof (encoder as Encoder<T> | null)?.encode !== 'function')
      throw invalid(
        'FileSink.forRowFormat(path, encoder) needs an Encoder (an object with encode(element)), e.g. new SimpleStringEncoder().',
      );
    return new RowFormatBuilder<T>(localPath(basePath, 'FileSink.forRowFormat()'), encoder);
  }

  /** A sink of bulk-encoded part files (rolled at every checkpoint). */
  static forBulkFormat<T>(basePath: unknown, factory: BulkWriterFactoryLike<T>): BulkFormatBuilder<T> {
    if (
      typeof factory !== 'function' &&
      typeof (factory as { create?: unknown } | null)?.create !== 'function'
    )
      throw invalid(
        'FileSink.forBulkFormat(path, factory) needs a BulkWriter factory (an object with create(out)).',
      );
    return new BulkFormatBuilder<T>(localPath(basePath, 'FileSink.forBulkFormat()'), factory);
  }

  createWriter(): FileWriter<T> {
    return new FileWriter(this.settings);
  }

  restoreWriter(_ctx: InitContext, recoveredState: readonly FileWriterState[]): FileWriter<T> {
    const { basePath, fileConfig } = this.settings;
    removeFilesBegunLater(basePath, recoveredState, fileConfig.getPartPrefix());
    // One restored writer (parallelism unchanged) lends its id, so that files this attempt begins
    // are cleaned up by the next restore of the same checkpoint too.
    const only = recoveredState.length === 1 ? recoveredState[0]! : undefined;
    const writer = new FileWriter(this.settings, only?.uid ?? randomUUID(), only?.partCounter ?? 0);
    for (const state of recoveredState)
      for (const file of state.inProgress) {
        // Gone when an older checkpoint is restored than the one that committed it: start afresh.
        if (fs.existsSync(file.pendingFile)) writer.resume(file);
      }
    return writer;
  }

  createCommitter(): Committer<FileSinkCommittable> {
    return new FileCommitter();
  }
}

/** Builds a row-format FileSink (Flink's `RowFormatBuilder`). */
export class RowFormatBuilder<T> {
  private assigner: BucketAssigner<T> = new DateTimeBucketAssigner<T>();
  private policy: RollingPolicy<T> = DefaultRollingPolicy.builder().build<T>();
  private fileConfig = OutputFileConfig.builder().build();

  constructor(
    private readonly basePath: string,
    private readonly encoder: Encoder<T>,
  ) {}

  withBucketAssigner(assigner: BucketAssigner<T> | BucketAssigner<T>['getBucketId']): this {
    this.assigner = asAssigner(assigner);
    return this;
  }

  withRollingPolicy(policy: RollingPolicy<T>): this {
    this.policy = asPolicy(policy);
    return this;
  }

  withOutputFileConfig(config: OutputFileConfig): this {
    if (!(config instanceof OutputFileConfig))
      throw invalid('FileSink.withOutputFileConfig() needs OutputFileConfig.builder()...build().');
    this.fileConfig = config;
    return this;
  }

  /** Accepted for Flink compatibility: processing-time rolling is checked at every checkpoint barrier. */
  withBucketCheckInterval(_interval: number): this {
    return this;
  }

  build(): FileSink<T> {
    return new FileSink<T>({
      basePath: this.basePath,
      encoder: this.encoder,
      bulkFactory: undefined,
      assigner: this.assigner,
      policy: this.policy,
      fileConfig: this.fileConfig,
    });
  }
}

/** Builds a bulk-format FileSink (Flink's `BulkFormatBuilder`); its part files roll at every checkpoint. */
export class BulkFormatBuilder<T> {
  private assigner: BucketAssigner<T> = new DateTimeBucketAssigner<T>();
  private policy: RollingPolicy<T> = OnCheckpointRollingPolicy.build<T>();
  private fileConfig = OutputFileConfig.builder().build();

  constructor(
    private readonly basePath: string,
    private readonly factory: BulkWriterFactoryLike<T>,
  ) {}

  withBucketAssigner(assigner: BucketAssigner<T> | BucketAssigner<T>['getBucketId']): this {
    this.assigner = asAssigner(assigner);
    return this;
  }

  /** A checkpoint rolling policy: it may roll earlier (size, time), and the sink rolls at every checkpoint anyway. */
  withRollingPolicy(policy: RollingPolicy<T>): this {
    this.policy = asPolicy(policy);
    return this;
  }

  withOutputFileConfig(config: OutputFileConfig): this {
    if (!(config instanceof OutputFileConfig))
      throw invalid('FileSink.withOutputFileConfig() needs OutputFileConfig.builder()...build().');
    this.fileConfig = config;
    return this;
  }

  build(): FileSink<T> {
    return new FileSink<T>({
      basePath: this.basePath,
      encoder: undefined,
      bulkFactory: this.factory,
      assigner: this.assigner,
      policy: this.policy,
      fileConfig: this.fileConfig,
    });
  }
}

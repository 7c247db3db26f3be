/**
 * The FileSink's writer (Flink's `FileWriter`): one in-progress part file per active bucket,
 * rolled by the rolling policy; at a barrier, rolled files become committables and the others are
 * synced and recorded in the writer's state with their length.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommittingSinkWriter, SinkWriterContext, StatefulSinkWriter } from '../../api/sink.js';
import type { BucketAssigner } from './bucket-assigner.js';
import type { BulkWriterFactoryLike } from './bulk-format.js';
import type { Encoder } from './encoders.js';
import type { OutputFileConfig } from './output-file-config.js';
import { type FileSinkCommittable, type InProgressFileState, PartFile } from './part-file.js';
import type { RollingPolicy } from './rolling-policy.js';

/** A FileSink writer's state in a checkpoint. */
export interface FileWriterState {
  /** The writer's id in its part file names. */
  readonly uid: string;
  /** The index its next part file gets; files of `uid` from this index on began after the checkpoint. */
  readonly partCounter: number;
  readonly inProgress: readonly InProgressFileState[];
}

/** Everything a FileSink writer needs to know of its sink. */
export interface FileWriterSettings<T> {
  readonly basePath: string;
  readonly encoder: Encoder<T> | undefined;
  readonly bulkFactory: BulkWriterFactoryLike<T> | undefined;
  readonly assigner: BucketAssigner<T>;
  readonly policy: RollingPolicy<T>;
  readonly fileConfig: OutputFileConfig;
}

export class FileWriter<T>
  implements CommittingSinkWriter<T, FileSinkCommittable>, StatefulSinkWriter<T, FileWriterState>
{
  private readonly parts = new Map<string, PartFile>();
  private lastBucketId: string | undefined;
  private lastPart: PartFile | undefined;
  private pending: FileSinkCommittable[] = [];
  private persisted: InProgressFileState[] = [];
  private readonly createdDirs = new Set<string>();
  /** Whether finished names of this uid may exist already (a restored uid): checked before use. */
  private readonly reusedUid: boolean;

  constructor(
    private readonly settings: FileWriterSettings<T>,
    private readonly uid: string = randomUUID(),
    private partCounter = 0,
  ) {
    this.reusedUid = partCounter > 0;
  }

  write(element: T, ctx: SinkWriterContext): void {
    const s = this.settings;
    const bucketId = s.assigner.getBucketId(element, ctx);
    // Most records go to the bucket of the record before: no map lookup for them.
    let part = bucketId === this.lastBucketId ? this.lastPart : this.parts.get(bucketId);
    if (part !== undefined && s.policy.shouldRollOnEvent(part, element)) {
      this.roll(part);
      part = undefined;
    }
    if (part === undefined) part = this.open(bucketId, ctx.currentProcessingTime());
    this.lastBucketId = bucketId;
    this.lastPart = part;
    // The time of the last write is taken at the next barrier, where processing-time rolls are decided.
    part.touched = true;
    if (part.bulk !== undefined) return part.bulk.addElement(element);
    const encoded = s.encoder!.encode(element, part);
    if (encoded !== undefined) part.write(encoded);
  }

  /**
   * At a barrier (`endOfInput` false): rolls what the policy says (bulk files always) and syncs
   * the rest for the checkpoint. At the end of input: rolls everything.
   */
  flush(endOfInput: boolean): void {
    const policy = this.settings.policy;
    this.persisted = [];
    const now = Date.now();
    for (const part of [...this.parts.values()]) {
      if (part.touched) {
        part.lastUpdateTime = now;
        part.touched = false;
      }
      if (
        endOfInput ||
        part.bulk !== undefined ||
        policy.shouldRollOnCheckpoint(part) ||
        policy.shouldRollOnProcessingTime(part, now)
      )
        this.roll(part);
      else this.persisted.push(part.persist());
    }
  }

  prepareCommit(): readonly FileSinkCommittable[] {
    const committables = this.pending;
    this.pending = [];
    return committables;
  }

  snapshotState(): readonly FileWriterState[] {
    return [{ uid: this.uid, partCounter: this.partCounter, inProgress: this.persisted }];
  }

  close(): void {
    for (const part of this.parts.values()) part.dispose();
    this.parts.clear();
  }

  /** Continues a restored in-progress file; a second one for the same bucket is rolled at once. */
  resume(state: InProgressFileState): void {
    const part = PartFile.resume(state, Date.now());
    if (this.parts.has(state.bucketId)) this.pending.push(part.closeForCommit());
    else this.parts.set(state.bucketId, part);
  }

  private open(bucketId: string, now: number): PartFile {
    const { basePath, fileConfig, bulkFactory } = this.settings;
    const dir = bucketId === '' ? basePath : path.join(basePath, bucketId);
    if (!this.createdDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.createdDirs.add(dir);
    }
    const prefix = fileConfig.getPartPrefix();
    const suffix = fileConfig.getPartSuffix();
    let name: string;
    do name = `${prefix}-${this.uid}-${this.partCounter++}${suffix}`;
    while (this.reusedUid && fs.existsSync(path.join(dir, name)));
    const part = PartFile.create(
      bucketId,
      path.join(dir, `.${name}.inprogress.${randomUUID()}`),
      path.join(dir, name),
      now,
    );
    this.parts.set(bucketId, part);
    if (bulkFactory !== undefined)
      part.bulk = typeof bulkFactory === 'function' ? bulkFactory(part) : bulkFactory.create(part);
    return part;
  }

  private roll(part: PartFile): void {
    if (part.bulk !== undefined) {
      part.bulk.flush();
      part.bulk.finish();
    }
    this.parts.delete(part.bucketId);
    if (this.lastPart === part) {
      this.lastPart = undefined;
      this.lastBucketId = undefined;
    }
    this.pending.push(part.closeForCommit());
  }
}

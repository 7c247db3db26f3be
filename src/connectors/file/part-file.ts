/**
 * One in-progress part file of a FileSink bucket: hidden (`.<name>.inprogress.<token>`) while
 * written, closed and synced at a roll, and renamed to its finished name by the committer.
 * Records are gathered into a string chunk and written in large synchronous writes.
 */
import * as fs from 'node:fs';
import type { BulkWriter } from './bulk-format.js';
import type { EncoderOutputStream } from './encoders.js';
import type { PartFileInfo } from './rolling-policy.js';

/** Chunk size (chars) above which buffered records are written to the file. */
const CHUNK = 64 * 1024;

/** A part file that was closed and waits for its checkpoint to commit (the FileSink's committable). */
export interface FileSinkCommittable {
  /** The hidden in-progress file, renamed on commit. */
  readonly pendingFile: string;
  /** Its finished name. */
  readonly finishedFile: string;
}

/** An in-progress part file as a checkpoint records it (resumed, truncated to `validLength`, on restore). */
export interface InProgressFileState {
  readonly bucketId: string;
  readonly pendingFile: string;
  readonly finishedFile: string;
  readonly validLength: number;
  readonly creationTime: number;
}

export class PartFile implements PartFileInfo, EncoderOutputStream {
  private chunk = '';
  private bytes = 0;
  lastUpdateTime: number;
  /** Written to since the last barrier (the writer then sets lastUpdateTime). */
  touched = false;
  /** The bulk writer encoding into this file (bulk formats). */
  bulk: BulkWriter<unknown> | undefined;

  private constructor(
    readonly bucketId: string,
    readonly pendingFile: string,
    readonly finishedFile: string,
    private fd: number,
    readonly creationTime: number,
    written: number,
  ) {
    this.bytes = written;
    this.lastUpdateTime = creationTime;
  }

  static create(bucketId: string, pendingFile: string, finishedFile: string, now: number): PartFile {
    return new PartFile(bucketId, pendingFile, finishedFile, fs.openSync(pendingFile, 'wx'), now, 0);
  }

  /** Reopens a restored in-progress file, cutting what was written after its checkpoint. */
  static resume(state: InProgressFileState, now: number): PartFile {
    fs.truncateSync(state.pendingFile, state.validLength);
    const part = new PartFile(
      state.bucketId,
      state.pendingFile,
      state.finishedFile,
      fs.openSync(state.pendingFile, 'a'),
      state.creationTime,
      state.validLength,
    );
    part.lastUpdateTime = now;
    return part;
  }

  getBucketId(): string {
    return this.bucketId;
  }
  getCreationTime(): number {
    return this.creationTime;
  }
  /** Bytes written; buffered text counts one byte a char until written. */
  getSize(): number {
    return this.bytes + this.chunk.length;
  }
  getLastUpdateTime(): number {
    return this.lastUpdateTime;
  }

  write(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      this.chunk += data;
      if (this.chunk.length >= CHUNK) this.flush();
    } else {
      this.flush();
      this.writeAll(data);
    }
  }

  /** Writes the buffered text to the file. */
  flush(): void {
    if (this.chunk.length === 0) return;
    const data = Buffer.from(this.chunk, 'utf8');
    this.chunk = '';
    this.writeAll(data);
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    this.bytes += data.length;
  }

  /** Writes and syncs what was written, so that a checkpoint may record it (Flink's `persist`). */
  persist(): InProgressFileState {
    this.flush();
    fs.fsyncSync(this.fd);
    return {
      bucketId: this.bucketId,
      pendingFile: this.pendingFile,
      finishedFile: this.finishedFile,
      validLength: this.bytes,
      creationTime: this.creationTime,
    };
  }

  /** Writes, syncs and closes the file: it is pending now. */
  closeForCommit(): FileSinkCommittable {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    return { pendingFile: this.pendingFile, finishedFile: this.finishedFile };
  }

  /** Closes without committing (the job is cancelled or failing). */
  dispose(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed by the process going away; nothing to keep.
    }
    this.fd = -1;
  }
}

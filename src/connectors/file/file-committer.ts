/**
 * Commits the FileSink's pending part files (Flink's `FileCommitter`): renames each hidden
 * pending file to its finished name and syncs the directory. A file already renamed (a commit
 * replayed after recovery) counts as committed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommitRequest, Committer } from '../../api/committer.js';
import type { FileSinkCommittable } from './part-file.js';

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class FileCommitter implements Committer<FileSinkCommittable> {
  commit(requests: readonly CommitRequest<FileSinkCommittable>[]): void {
    const dirs = new Set<string>();
    for (const request of requests) {
      const { pendingFile, finishedFile } = request.getCommittable();
      try {
        fs.renameSync(pendingFile, finishedFile);
        dirs.add(path.dirname(finishedFile));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') request.signalFailedWithUnknownReason(e);
        else if (fs.existsSync(finishedFile)) request.signalAlreadyCommitted();
        else
          request.signalFailedWithKnownReason(
            new Error(
              `pending part file ${pendingFile} is gone and ${finishedFile} does not exist (was it deleted by hand?)`,
            ),
          );
      }
    }
    for (const dir of dirs) syncDirectory(dir);
  }

  close(): void {}
}

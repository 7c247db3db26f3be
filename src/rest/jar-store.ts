/** The job bundles uploaded to a REST server (Flink's jars in its web upload directory), kept in memory. */
import { randomUUID } from 'node:crypto';

/** One uploaded job bundle. */
export interface StoredJar {
  /** `<uuid>_<file name>`, as Flink names uploaded jars. */
  readonly id: string;
  /** The file name it was uploaded with. */
  readonly name: string;
  /** When it was uploaded (ms since the epoch). */
  readonly uploaded: number;
  readonly bytes: Uint8Array;
}

/**
 * Uploaded bundles by id. In memory rather than on disk: bundles are small (the job's own code;
 * `sluice` itself is not in them), and a JobManager that restarts has lost its jobs anyway.
 */
export class JarStore {
  private readonly jars = new Map<string, StoredJar>();
  private totalBytes = 0;

  /** `maxTotalBytes`: the oldest bundles are dropped to stay below it (default 256 MiB). */
  constructor(private readonly maxTotalBytes = 256 * 1024 * 1024) {}

  /** Stores `bytes` under a fresh id, dropping the oldest bundles if the store would grow too large. */
  add(name: string, bytes: Uint8Array, uploaded: number): StoredJar {
    const jar: StoredJar = { id: `${randomUUID()}_${name}`, name, uploaded, bytes };
    this.jars.set(jar.id, jar);
    this.totalBytes += bytes.length;
    for (const id of this.jars.keys()) {
      if (this.totalBytes <= this.maxTotalBytes || id === jar.id) break;
      this.delete(id);
    }
    return jar;
  }

  get(id: string): StoredJar | undefined {
    return this.jars.get(id);
  }

  /** Removes a bundle; false when there was none with this id. */
  delete(id: string): boolean {
    const jar = this.jars.get(id);
    if (jar) this.totalBytes -= jar.bytes.length;
    return this.jars.delete(id);
  }

  /** Every bundle, newest first (as Flink's JarListHandler sorts by modification time). */
  list(): readonly StoredJar[] {
    return [...this.jars.values()].reverse().sort((a, b) => b.uploaded - a.uploaded);
  }
}

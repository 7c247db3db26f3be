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

  /** Stores `bytes` under a fresh id. */
  add(name: string, bytes: Uint8Array, uploaded: number): StoredJar {
    const jar: StoredJar = { id: `${randomUUID()}_${name}`, name, uploaded, bytes };
    this.jars.set(jar.id, jar);
    return jar;
  }

  get(id: string): StoredJar | undefined {
    return this.jars.get(id);
  }

  /** Removes a bundle; false when there was none with this id. */
  delete(id: string): boolean {
    return this.jars.delete(id);
  }

  /** Every bundle, newest first (as Flink's JarListHandler sorts by modification time). */
  list(): readonly StoredJar[] {
    return [...this.jars.values()].reverse().sort((a, b) => b.uploaded - a.uploaded);
  }
}

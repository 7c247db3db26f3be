/**
 * The writer of `JdbcSink.exactlyOnceSink`: the records between two barriers go into one
 * PostgreSQL transaction per subtask, begun with its first batch. At the barrier the writer
 * flushes and runs `PREPARE TRANSACTION '<id>'` (so the transaction survives the connection and
 * a crash, still invisible to readers) and hands the id out as a committable; the committer
 * runs `COMMIT PREPARED` once the checkpoint completes. A failed statement cannot be retried
 * inside the transaction: it fails the job, which restores and writes the records again.
 */
import type { CommittingSinkWriter, SinkWriterContext, StatefulSinkWriter } from '../../api/sink.js';
import { SluiceError } from '../../core/errors.js';
import type { JdbcBatch } from './jdbc-batch.js';
import type { JdbcCommittable } from './jdbc-committable.js';
import {
  parseTransactionId,
  transactionId,
  transactionIdLike,
  type TransactionIdPattern,
} from './jdbc-transaction-id.js';
import { sqlState, type PgSession } from './pg-connection.js';

export interface JdbcExactlyOnceWriterSettings {
  readonly ids: TransactionIdPattern;
  readonly subtask: number;
  readonly parallelism: number;
  /** The checkpoint restored from, undefined on a fresh start. */
  readonly restoredCheckpointId: number | undefined;
  readonly recoveredAndRollback: boolean;
  readonly timeoutSec: number | undefined;
}

export class JdbcExactlyOnceWriter<T>
  implements CommittingSinkWriter<T, JdbcCommittable>, StatefulSinkWriter<T, never>
{
  /** The checkpoint after which the open (or next) transaction began. */
  private checkpoint: number;
  /** Preparations since `checkpoint`: keeps ids distinct if a checkpoint is declined after one. */
  private preparedSince = 0;
  private inTransaction = false;
  private prepared: JdbcCommittable[] = [];
  /** Checks the server and rolls back leftovers; every statement waits for it. */
  private readonly ready: Promise<void>;

  constructor(
    private readonly batch: JdbcBatch<T>,
    private readonly connection: PgSession,
    private readonly settings: JdbcExactlyOnceWriterSettings,
  ) {
    this.checkpoint = settings.restoredCheckpointId ?? 0;
    this.ready = this.recover();
    // Surfaced by the first statement or barrier; not an unhandled rejection meanwhile.
    this.ready.catch(() => {});
  }

  /**
   * Detects `max_prepared_transactions = 0` (PostgreSQL's default) and rolls back this sink's
   * prepared transactions begun at or after the restored checkpoint: they hold records the
   * restored job writes again. Older ones belong to restored committables, which the committer
   * commits. Subtask 0 also cleans up after subtasks that a lower parallelism no longer has.
   */
  private async recover(): Promise<void> {
    const { rows } = await this.connection.query<{ max_prepared_transactions: string }>(
      'SHOW max_prepared_transactions',
    );
    if (Number(rows[0]?.max_prepared_transactions) === 0) throw preparedTransactionsDisabled();
    // A failed attempt of this subtask may still hold its connection, its open transaction and
    // that transaction's row locks (a TaskManager cut off from the JobManager but still alive,
    // whose task was never cancelled there): end it, or an upsert of the same keys would wait
    // for it forever.
    await this.connection.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = current_setting($$application_name$$) AND pid <> pg_backend_pid() AND datname = current_database()',
    );
    const { ids, subtask, parallelism, restoredCheckpointId, recoveredAndRollback } = this.settings;
    if (!recoveredAndRollback) return;
    const { rows: leftovers } = await this.connection.query<{ gid: string }>(
      `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE '${transactionIdLike(ids)}'`,
    );
    const from = restoredCheckpointId ?? 0;
    for (const { gid } of leftovers) {
      const parsed = parseTransactionId(ids, gid);
      if (!parsed || parsed.checkpoint < from) continue;
      const mine = parsed.subtask === subtask || (subtask === 0 && parsed.subtask >= parallelism);
      if (mine) await this.rollback(gid);
    }
  }

  private async rollback(gid: string): Promise<void> {
    try {
      await this.connection.query(`ROLLBACK PREPARED '${gid}'`);
    } catch (e) {
      // Gone already: another attempt of this subtask rolled it back first.
      if (sqlState(e) === '42704') return;
      throw e;
    }
  }

  write(record: T, ctx: SinkWriterContext): void | Promise<void> {
    if (this.batch.add(record, ctx.currentProcessingTime())) return this.send();
  }

  /** The statement text is composed now, in order; it runs once the recovery is done. */
  private send(): Promise<void> {
    return this.run(this.begin() + this.batch.take());
  }

  private begin(): string {
    if (this.inTransaction) return '';
    this.inTransaction = true;
    const timeout = this.settings.timeoutSec;
    return `BEGIN;${timeout ? ` SET LOCAL statement_timeout = ${timeout * 1000};` : ''}\n`;
  }

  private async run(sql: string): Promise<void> {
    await this.ready;
    try {
      await this.connection.query(sql);
    } catch (e) {
      // The setting was lowered to 0 (and the server restarted) after this writer checked it.
      if (sqlState(e) === '55000' && /prepared transactions are disabled/i.test(String(e))) {
        const disabled = preparedTransactionsDisabled();
        throw new SluiceError(disabled.code, disabled.message, { cause: e });
      }
      throw e;
    }
  }

  /**
   * At a barrier (or the end of input): the open transaction, with the rest of the batch, is
   * prepared in one round trip. Its id is the committable, taken by `prepareCommit` right after
   * this returns; the checkpoint is acknowledged only once the returned promise resolves, so a
   * failed PREPARE fails the checkpoint and its committable is never committed.
   */
  flush(): void | Promise<void> {
    if (this.batch.size === 0 && !this.inTransaction) return;
    const sql = this.batch.size > 0 ? this.begin() + this.batch.take() + ';\n' : '';
    this.inTransaction = false;
    const { ids, subtask } = this.settings;
    const id = transactionId(ids, subtask, this.checkpoint, this.preparedSince++);
    this.prepared.push({ transactionId: id, prepared: true });
    return this.run(`${sql}PREPARE TRANSACTION '${id}'`);
  }

  prepareCommit(): readonly JdbcCommittable[] {
    const out = this.prepared;
    this.prepared = [];
    return out;
  }

  /** No state of its own: the checkpoint id names the transactions begun after it. */
  snapshotState(checkpointId: number): readonly never[] {
    this.checkpoint = checkpointId;
    this.preparedSince = 0;
    return [];
  }

  /** An open transaction is abandoned: the server rolls it back when the connection ends. */
  close(): Promise<void> {
    return this.connection.close();
  }
}

/** PostgreSQL's default max_prepared_transactions = 0 leaves no room for PREPARE TRANSACTION. */
export function preparedTransactionsDisabled(): SluiceError {
  return new SluiceError(
    'SLUICE_CONNECTOR_MISCONFIGURED',
    'JdbcSink.exactlyOnceSink needs PostgreSQL prepared transactions, but the server has max_prepared_transactions = 0 (its default). ' +
      'As a superuser run: ALTER SYSTEM SET max_prepared_transactions = 64; then restart PostgreSQL ' +
      '(e.g. pg_ctlcluster <version> main restart, or service postgresql restart; scripts/setup-postgres.sh does both). ' +
      'The value must be at least the sink parallelism times the checkpoints that may be pending at once.',
  );
}

/**
 * Commits the exactly-once JDBC sink's prepared transactions once their checkpoint completed.
 * Idempotent: `COMMIT PREPARED` of a transaction that no longer exists (SQLSTATE 42704) means it
 * was committed by an earlier attempt, since committables are made only of prepared ones.
 */
import type { CommitRequest, Committer } from '../../api/committer.js';
import type { JdbcCommittable } from './jdbc-committable.js';
import { sqlState, type PgConnection } from './pg-connection.js';

const UNDEFINED_OBJECT = '42704';

export class JdbcCommitter implements Committer<JdbcCommittable> {
  constructor(
    private readonly connection: PgConnection,
    private readonly maxCommitAttempts: number,
  ) {}

  async commit(requests: readonly CommitRequest<JdbcCommittable>[]): Promise<void> {
    for (const request of requests) {
      const { transactionId } = request.getCommittable();
      try {
        await this.connection.query(`COMMIT PREPARED '${transactionId}'`);
      } catch (e) {
        if (sqlState(e) === UNDEFINED_OBJECT) request.signalAlreadyCommitted();
        else if (request.getNumberOfRetries() + 1 < this.maxCommitAttempts) {
          this.connection.reset();
          request.retryLater();
        } else request.signalFailedWithUnknownReason(e);
      }
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

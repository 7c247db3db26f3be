/** Options of JdbcSink.exactlyOnceSink (Flink's JdbcExactlyOnceOptions, same names). */
import { invalidProgram } from '../../core/errors.js';

export class JdbcExactlyOnceOptions {
  /** @internal use `JdbcExactlyOnceOptions.builder()`. */
  constructor(
    readonly recoveredAndRollback: boolean,
    readonly maxCommitAttempts: number,
    readonly allowOutOfOrderCommits: boolean,
    readonly transactionPerConnection: boolean,
    readonly timeoutSec: number | undefined,
    readonly transactionIdPrefix: string | undefined,
  ) {}

  static builder(): JdbcExactlyOnceOptionsBuilder {
    return new JdbcExactlyOnceOptionsBuilder();
  }

  static defaults(): JdbcExactlyOnceOptions {
    return JdbcExactlyOnceOptions.builder().build();
  }
}

export class JdbcExactlyOnceOptionsBuilder {
  private recoveredAndRollback = true;
  private maxCommitAttempts = 3;
  private allowOutOfOrderCommits = false;
  private transactionPerConnection = true;
  private timeoutSec: number | undefined;
  private transactionIdPrefix: string | undefined;

  /** On restore, roll back this sink's prepared transactions begun after the restored checkpoint (default true). */
  withRecoveredAndRollback(recoveredAndRollback: boolean): this {
    this.recoveredAndRollback = recoveredAndRollback;
    return this;
  }
  /** Attempts to commit a prepared transaction before the job fails (default 3). */
  withMaxCommitAttempts(attempts: number): this {
    if (!Number.isInteger(attempts) || attempts < 1)
      throw invalidProgram(`JdbcExactlyOnceOptions: withMaxCommitAttempts must be >= 1, got ${attempts}.`);
    this.maxCommitAttempts = attempts;
    return this;
  }
  /** Accepted for Flink compatibility: commits of one subtask are always in checkpoint order. */
  withAllowOutOfOrderCommits(allow: boolean): this {
    this.allowOutOfOrderCommits = allow;
    return this;
  }
  /** Accepted for Flink compatibility: PostgreSQL runs one transaction per connection anyway. */
  withTransactionPerConnection(perConnection: boolean): this {
    this.transactionPerConnection = perConnection;
    return this;
  }
  /** A statement timeout for the sink's transactions (PostgreSQL `statement_timeout`). */
  withTimeoutSec(seconds: number): this {
    if (!(seconds > 0))
      throw invalidProgram(`JdbcExactlyOnceOptions: withTimeoutSec must be > 0, got ${seconds}.`);
    this.timeoutSec = seconds;
    return this;
  }
  /**
   * The prefix of the sink's transaction ids (as KafkaSink's setTransactionalIdPrefix); default
   * derived from the statement. Two jobs writing through the same statement and operator uid
   * into one database need different prefixes.
   */
  withTransactionIdPrefix(prefix: string): this {
    if (!/^[\w.-]{1,64}$/.test(prefix))
      throw invalidProgram(
        `JdbcExactlyOnceOptions: withTransactionIdPrefix takes 1-64 letters, digits, '_', '.', '-', got '${prefix}'.`,
      );
    this.transactionIdPrefix = prefix;
    return this;
  }
  build(): JdbcExactlyOnceOptions {
    return new JdbcExactlyOnceOptions(
      this.recoveredAndRollback,
      this.maxCommitAttempts,
      this.allowOutOfOrderCommits,
      this.transactionPerConnection,
      this.timeoutSec,
      this.transactionIdPrefix,
    );
  }
}

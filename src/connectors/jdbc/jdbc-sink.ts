/**
 * PostgreSQL sinks with Flink's JDBC connector API:
 * `JdbcSink.sink(sql, statementBuilder, executionOptions, connectionOptions)` (at-least-once,
 * batched, flushed at every barrier; idempotent with `INSERT ... ON CONFLICT ... DO UPDATE`) and
 * `JdbcSink.exactlyOnceSink(sql, statementBuilder, executionOptions, exactlyOnceOptions,
 * connectionOptions)` (a prepared transaction per subtask and checkpoint, committed when the
 * checkpoint completes). Statements use JDBC's `?` placeholders (or PostgreSQL's `$1`).
 */
import { createHash } from 'node:crypto';
import type { Committer, CommitterInitContext, SupportsCommitter } from '../../api/committer.js';
import type {
  Sink,
  SinkWriter,
  StatefulSinkWriter,
  SupportsWriterState,
  WriterInitContext,
} from '../../api/sink.js';
import { invalidProgram } from '../../core/errors.js';
import { JdbcAtLeastOnceWriter } from './jdbc-at-least-once-writer.js';
import { JdbcBatch } from './jdbc-batch.js';
import type { JdbcCommittable } from './jdbc-committable.js';
import { JdbcCommitter } from './jdbc-committer.js';
import { JdbcConnectionOptions } from './jdbc-connection-options.js';
import { JdbcExactlyOnceOptions } from './jdbc-exactly-once-options.js';
import { JdbcExactlyOnceWriter } from './jdbc-exactly-once-writer.js';
import { JdbcExecutionOptions } from './jdbc-execution-options.js';
import type { JdbcStatementBuilder } from './jdbc-statement.js';
import { PgConnection } from './pg-connection.js';
import { SqlTemplate } from './sql-template.js';

function checkArgs<T>(
  method: string,
  sql: unknown,
  builder: unknown,
  connection: unknown,
): asserts builder is JdbcStatementBuilder<T> {
  if (typeof sql !== 'string' || sql.trim() === '')
    throw invalidProgram(`JdbcSink.${method}: the first argument is the SQL statement, got ${String(sql)}.`);
  if (typeof builder !== 'function')
    throw invalidProgram(
      `JdbcSink.${method}: the second argument is the statement builder (ps, record) => { ps.setInt(1, ...) } or (ps, record) => [params].`,
    );
  if (!(connection instanceof JdbcConnectionOptions))
    throw invalidProgram(
      `JdbcSink.${method}: connection options are required: new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl('jdbc:postgresql://host:5432/db').build().`,
    );
}

/** `JdbcSink.sink(...)`: at-least-once; an upsert statement makes it idempotent. */
export class JdbcAtLeastOnceSink<T> implements Sink<T> {
  private readonly template: SqlTemplate;

  constructor(
    sql: string,
    private readonly builder: JdbcStatementBuilder<T>,
    private readonly execution: JdbcExecutionOptions,
    private readonly connection: JdbcConnectionOptions,
  ) {
    this.template = new SqlTemplate(sql);
  }

  createWriter(ctx: WriterInitContext): SinkWriter<T> {
    return new JdbcAtLeastOnceWriter(
      new JdbcBatch(this.template, this.builder, this.execution),
      new PgConnection(this.connection, `JdbcSink subtask ${ctx.getSubtaskId()}`),
      this.execution,
    );
  }
}

/** `JdbcSink.exactlyOnceSink(...)`: two-phase commit with PostgreSQL prepared transactions. */
export class JdbcExactlyOnceSink<T>
  implements Sink<T>, SupportsCommitter<JdbcCommittable>, SupportsWriterState<T, never>
{
  private readonly template: SqlTemplate;
  private readonly prefix: string;

  constructor(
    sql: string,
    private readonly builder: JdbcStatementBuilder<T>,
    private readonly execution: JdbcExecutionOptions,
    private readonly exactlyOnce: JdbcExactlyOnceOptions,
    private readonly connection: JdbcConnectionOptions,
  ) {
    this.template = new SqlTemplate(sql);
    this.prefix =
      exactlyOnce.transactionIdPrefix ??
      `sluice-${createHash('sha256').update(sql).digest('hex').slice(0, 10)}`;
  }

  createWriter(ctx: WriterInitContext): JdbcExactlyOnceWriter<T> {
    const session = createHash('sha256')
      .update(`${this.prefix}:${ctx.getOperatorId()}:${ctx.getSubtaskId()}`)
      .digest('hex')
      .slice(0, 16);
    return new JdbcExactlyOnceWriter(
      new JdbcBatch(this.template, this.builder, this.execution),
      new PgConnection(this.connection, `JdbcSink.exactlyOnceSink subtask ${ctx.getSubtaskId()}`, session),
      {
        ids: { prefix: this.prefix, operatorId: ctx.getOperatorId() },
        subtask: ctx.getSubtaskId(),
        parallelism: ctx.getNumberOfParallelSubtasks(),
        restoredCheckpointId: ctx.getRestoredCheckpointId(),
        recoveredAndRollback: this.exactlyOnce.recoveredAndRollback,
        timeoutSec: this.exactlyOnce.timeoutSec,
      },
    );
  }

  /** The writer keeps no state: the restored checkpoint id alone says what to roll back. */
  restoreWriter(ctx: WriterInitContext): StatefulSinkWriter<T, never> {
    return this.createWriter(ctx);
  }

  createCommitter(ctx: CommitterInitContext): Committer<JdbcCommittable> {
    return new JdbcCommitter(
      new PgConnection(this.connection, `JdbcSink.exactlyOnceSink committer ${ctx.getSubtaskId()}`),
      this.exactlyOnce.maxCommitAttempts,
    );
  }
}

/** Flink's JdbcSink facade. */
export const JdbcSink = {
  /**
   * An at-least-once sink running `sql` for each record, in batches, flushed at every checkpoint;
   * `executionOptions` may be left out (`sink(sql, builder, connectionOptions)`).
   */
  sink<T>(
    sql: string,
    statementBuilder: JdbcStatementBuilder<T>,
    executionOptions: JdbcExecutionOptions | JdbcConnectionOptions,
    connectionOptions?: JdbcConnectionOptions,
  ): Sink<T> {
    const [execution, connection] =
      executionOptions instanceof JdbcConnectionOptions
        ? [JdbcExecutionOptions.defaults(), executionOptions]
        : [executionOptions ?? JdbcExecutionOptions.defaults(), connectionOptions];
    checkArgs<T>('sink', sql, statementBuilder, connection);
    return new JdbcAtLeastOnceSink(sql, statementBuilder, execution, connection as JdbcConnectionOptions);
  },

  /** An exactly-once sink: PostgreSQL prepared transactions, committed when checkpoints complete. */
  exactlyOnceSink<T>(
    sql: string,
    statementBuilder: JdbcStatementBuilder<T>,
    executionOptions: JdbcExecutionOptions,
    exactlyOnceOptions: JdbcExactlyOnceOptions,
    connectionOptions: JdbcConnectionOptions,
  ): Sink<T> & SupportsCommitter<JdbcCommittable> {
    checkArgs<T>('exactlyOnceSink', sql, statementBuilder, connectionOptions);
    if (!(exactlyOnceOptions instanceof JdbcExactlyOnceOptions))
      throw invalidProgram(
        'JdbcSink.exactlyOnceSink: the fourth argument is JdbcExactlyOnceOptions.builder()...build() (or JdbcExactlyOnceOptions.defaults()).',
      );
    return new JdbcExactlyOnceSink(
      sql,
      statementBuilder,
      executionOptions ?? JdbcExecutionOptions.defaults(),
      exactlyOnceOptions,
      connectionOptions,
    );
  },
};

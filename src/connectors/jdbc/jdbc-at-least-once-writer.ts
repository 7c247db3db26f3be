/**
 * The writer of `JdbcSink.sink`: batches rendered records and sends each batch as one statement
 * text in autocommit; every barrier flushes. Replays after a failure write records again, so an
 * `INSERT ... ON CONFLICT ... DO UPDATE` statement makes the sink idempotent (an upsert sink).
 */
import type { SinkWriter, SinkWriterContext } from '../../api/sink.js';
import type { JdbcBatch } from './jdbc-batch.js';
import type { JdbcExecutionOptions } from './jdbc-execution-options.js';
import type { PgConnection } from './pg-connection.js';

export class JdbcAtLeastOnceWriter<T> implements SinkWriter<T> {
  constructor(
    private readonly batch: JdbcBatch<T>,
    private readonly connection: PgConnection,
    private readonly options: JdbcExecutionOptions,
  ) {}

  write(record: T, ctx: SinkWriterContext): void | Promise<void> {
    if (this.batch.add(record, ctx.currentProcessingTime())) return this.send();
  }

  flush(): void | Promise<void> {
    if (this.batch.size > 0) return this.send();
  }

  /** Sends the batch; a failed attempt reconnects and retries, waiting 1 s more each time (as Flink). */
  private async send(): Promise<void> {
    const sql = this.batch.take();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connection.query(sql);
        return;
      } catch (e) {
        if (attempt >= this.options.maxRetries) throw e;
        this.connection.reset();
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

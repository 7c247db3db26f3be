/** The records a JDBC writer has rendered but not yet sent, and when the batch is due. */
import { SluiceError } from '../../core/errors.js';
import type { JdbcExecutionOptions } from './jdbc-execution-options.js';
import { JdbcStatement, type JdbcStatementBuilder } from './jdbc-statement.js';
import type { SqlTemplate } from './sql-template.js';

export class JdbcBatch<T> {
  private rows: string[] = [];
  private firstAt = 0;
  private readonly statement = new JdbcStatement();
  private readonly tupleOnly: boolean;

  constructor(
    private readonly template: SqlTemplate,
    private readonly builder: JdbcStatementBuilder<T>,
    private readonly options: JdbcExecutionOptions,
  ) {
    this.tupleOnly = template.insertPrefix !== undefined;
  }

  get size(): number {
    return this.rows.length;
  }

  /** Renders `record` into the batch; true when the batch is due (full, or older than the interval). */
  add(record: T, now: number): boolean {
    const statement = this.statement;
    statement.params.length = 0;
    let returned: void | readonly unknown[];
    try {
      returned = this.builder(statement, record);
    } catch (e) {
      throw new SluiceError(
        'SLUICE_USER_FUNCTION_FAILED',
        `JdbcSink: the statement builder threw for a record: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.rows.push(
      this.template.render(Array.isArray(returned) ? returned : statement.params, this.tupleOnly),
    );
    if (this.rows.length === 1) this.firstAt = now;
    const interval = this.options.batchIntervalMs;
    return this.rows.length >= this.options.batchSize || (interval > 0 && now - this.firstAt >= interval);
  }

  /** The batch as one SQL text, emptying it. */
  take(): string {
    const sql = this.template.batch(this.rows);
    this.rows = [];
    return sql;
  }
}

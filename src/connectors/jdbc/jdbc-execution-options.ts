/** How a JdbcSink batches and retries (Flink's JdbcExecutionOptions, same names and defaults). */
import { invalidProgram } from '../../core/errors.js';

export class JdbcExecutionOptions {
  static readonly DEFAULT_MAX_RETRY_TIMES = 3;
  static readonly DEFAULT_SIZE = 5000;
  static readonly DEFAULT_INTERVAL_MILLIS = 0;

  /** @internal use `JdbcExecutionOptions.builder()`. */
  constructor(
    readonly batchSize: number,
    readonly batchIntervalMs: number,
    readonly maxRetries: number,
  ) {}

  getBatchSize(): number {
    return this.batchSize;
  }
  getBatchIntervalMs(): number {
    return this.batchIntervalMs;
  }
  getMaxRetries(): number {
    return this.maxRetries;
  }

  static builder(): JdbcExecutionOptionsBuilder {
    return new JdbcExecutionOptionsBuilder();
  }

  static defaults(): JdbcExecutionOptions {
    return JdbcExecutionOptions.builder().build();
  }
}

function count(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw invalidProgram(`JdbcExecutionOptions: ${name} must be an integer >= ${min}, got ${String(value)}.`);
  return value;
}

export class JdbcExecutionOptionsBuilder {
  private batchSize = JdbcExecutionOptions.DEFAULT_SIZE;
  private batchIntervalMs = JdbcExecutionOptions.DEFAULT_INTERVAL_MILLIS;
  private maxRetries = JdbcExecutionOptions.DEFAULT_MAX_RETRY_TIMES;

  /** Records per batch: a batch is written when it is this full (and at every checkpoint). */
  withBatchSize(size: number): this {
    this.batchSize = count('withBatchSize', size, 1);
    return this;
  }
  /** A non-empty batch older than this is written with the next record (0: only by size and at checkpoints). */
  withBatchIntervalMs(intervalMs: number | { toMillis(): number }): this {
    this.batchIntervalMs = count(
      'withBatchIntervalMs',
      typeof intervalMs === 'number' ? intervalMs : intervalMs.toMillis(),
      0,
    );
    return this;
  }
  /** Attempts after the first for a failed batch (at-least-once sink only), reconnecting between. */
  withMaxRetries(retries: number): this {
    this.maxRetries = count('withMaxRetries', retries, 0);
    return this;
  }
  build(): JdbcExecutionOptions {
    return new JdbcExecutionOptions(this.batchSize, this.batchIntervalMs, this.maxRetries);
  }
}

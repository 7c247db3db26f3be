/**
 * The statement a JdbcSink's statement builder fills, shaped as JDBC's PreparedStatement:
 * `ps.setString(1, r.name)` sets the first parameter (indexes start at 1, as in JDBC). One
 * instance per writer, cleared for each record, so filling it allocates nothing per record.
 */
import { invalidProgram } from '../../core/errors.js';

export class JdbcStatement {
  /** The parameters set so far, 0-based. */
  readonly params: unknown[] = [];

  private set(index: number, value: unknown): void {
    if (!Number.isInteger(index) || index < 1)
      throw invalidProgram(`JdbcSink: parameter indexes start at 1 (as in JDBC), got ${index}.`);
    this.params[index - 1] = value;
  }

  setObject(index: number, value: unknown): void {
    this.set(index, value);
  }
  setString(index: number, value: string | null): void {
    this.set(index, value);
  }
  setInt(index: number, value: number): void {
    this.set(index, value);
  }
  setLong(index: number, value: number | bigint): void {
    this.set(index, value);
  }
  setShort(index: number, value: number): void {
    this.set(index, value);
  }
  setDouble(index: number, value: number): void {
    this.set(index, value);
  }
  setFloat(index: number, value: number): void {
    this.set(index, value);
  }
  setBigDecimal(index: number, value: number | bigint | string): void {
    this.set(index, value);
  }
  setBoolean(index: number, value: boolean): void {
    this.set(index, value);
  }
  setTimestamp(index: number, value: Date | number): void {
    this.set(index, typeof value === 'number' ? new Date(value) : value);
  }
  setBytes(index: number, value: Uint8Array): void {
    this.set(index, value);
  }
  setNull(index: number): void {
    this.set(index, null);
  }
  clearParameters(): void {
    this.params.length = 0;
  }
}

/**
 * Fills the statement's parameters from a record (Flink's JdbcStatementBuilder): set them on the
 * statement, or return them as an array (`(ps, r) => [r.id, r.name]`).
 */
export type JdbcStatementBuilder<T> = (statement: JdbcStatement, record: T) => void | readonly unknown[];

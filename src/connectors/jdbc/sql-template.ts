/**
 * A parameterized statement, parsed once: JDBC's `?` placeholders (or PostgreSQL's `$n`) found
 * outside quotes, comments and identifiers, so that each record's parameters can be rendered in
 * place. An `INSERT ... VALUES (...)` with nothing after its values is batched as one multi-row
 * insert (pgjdbc's `reWriteBatchedInserts`); any other statement is batched as a statement list.
 */
import { invalidProgram } from '../../core/errors.js';
import { sqlLiteral } from './sql-literal.js';

export class SqlTemplate {
  /** Text pieces around the placeholders: `pieces[i]`, then parameter `slots[i]`, ..., last piece. */
  private readonly pieces: string[] = [];
  /** 0-based parameter index of each placeholder. */
  private readonly slots: number[] = [];
  /** How many parameters the statement takes. */
  readonly parameterCount: number;
  /** For a rewritable insert: the text before the values tuple, which starts the tuple's template. */
  readonly insertPrefix: string | undefined;

  constructor(readonly sql: string) {
    const text = sql.trim().replace(/;\s*$/, '');
    let positional = 0;
    let dollar = false;
    let last = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === "'" || c === '"') {
        const end = text.indexOf(c, i + 1);
        i = end < 0 ? text.length : end;
      } else if (c === '-' && text[i + 1] === '-') {
        const end = text.indexOf('\n', i);
        i = end < 0 ? text.length : end;
      } else if (c === '?') {
        this.pieces.push(text.slice(last, i));
        this.slots.push(positional++);
        last = i + 1;
      } else if (c === '$' && /\d/.test(text[i + 1] ?? '') && !/\w/.test(text[i - 1] ?? '')) {
        const digits = /^\d+/.exec(text.slice(i + 1))![0];
        this.pieces.push(text.slice(last, i));
        this.slots.push(Number(digits) - 1);
        dollar = true;
        last = i + 1 + digits.length;
        i = last - 1;
      }
    }
    this.pieces.push(text.slice(last));
    if (dollar && positional > 0)
      throw invalidProgram(`JdbcSink: the statement mixes ? and $n placeholders: ${sql}`);
    this.parameterCount = this.slots.length === 0 ? 0 : Math.max(...this.slots) + 1;
    const insert = /^(\s*INSERT\s+INTO\s+[\s\S]+?\bVALUES\s*)\([\s\S]*\)$/i.exec(text);
    // Only when the values tuple is the statement's end and holds every placeholder.
    this.insertPrefix =
      insert && balancedTail(text.slice(insert[1]!.length)) && insert[1]!.length <= this.pieces[0]!.length
        ? insert[1]
        : undefined;
  }

  /** The statement with `params` in place (for an insert without its prefix: just the tuple). */
  render(params: readonly unknown[], tupleOnly: boolean): string {
    if (params.length < this.parameterCount)
      throw invalidProgram(
        `JdbcSink: the statement takes ${this.parameterCount} parameters but the statement builder set ${params.length}: ${this.sql}`,
      );
    const pieces = this.pieces;
    let out = tupleOnly ? pieces[0]!.slice(this.insertPrefix!.length) : pieces[0]!;
    for (let i = 0; i < this.slots.length; i++) out += sqlLiteral(params[this.slots[i]!]) + pieces[i + 1]!;
    return out;
  }

  /** One SQL text for a batch of rendered rows (tuples for a rewritable insert, else statements). */
  batch(rows: readonly string[]): string {
    return this.insertPrefix !== undefined ? this.insertPrefix + rows.join(',') : rows.join(';\n');
  }
}

/** Whether `text` is exactly one parenthesized group (the values tuple, nothing after it). */
function balancedTail(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return false;
      i = end;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i === text.length - 1;
  }
  return false;
}

import { describe, expect, it } from 'vitest';
import { SqlTemplate } from './sql-template.js';

describe('SqlTemplate', () => {
  it('batches a plain insert as one multi-row insert, with values rendered as literals', () => {
    const t = new SqlTemplate('INSERT INTO t (a, b, c) VALUES (?, ?, ?)');
    expect(t.insertPrefix).toBe('INSERT INTO t (a, b, c) VALUES ');
    const rows = [t.render([1, "it's", null], true), t.render([2.5, 'x\\y', true], true)];
    expect(t.batch(rows)).toBe("INSERT INTO t (a, b, c) VALUES (1, 'it''s', NULL),(2.5,  E'x\\\\y', TRUE)");
  });

  it('batches an upsert as a statement list, keeping ? inside quotes and $n placeholders', () => {
    const t = new SqlTemplate(
      "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v || '?'",
    );
    expect(t.insertPrefix).toBeUndefined();
    expect(t.parameterCount).toBe(2);
    expect(t.batch([t.render(['a', 1], false), t.render(['b', 2], false)])).toBe(
      "INSERT INTO t (k, v) VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v || '?';\n" +
        "INSERT INTO t (k, v) VALUES ('b', 2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v || '?'",
    );
  });

  it('renders dates, bytes, objects and arrays', () => {
    const t = new SqlTemplate('UPDATE t SET d = ?, b = ?, j = ?, a = ? WHERE id = ?');
    expect(t.render([new Date(0), new Uint8Array([1, 255]), { x: "'" }, ['a', null], 7n], false)).toBe(
      `UPDATE t SET d = '1970-01-01T00:00:00.000Z', b = '\\x01ff'::bytea, j = '{"x":"''"}', a = '{"a",NULL}' WHERE id = 7`,
    );
  });

  it('names a statement builder that sets too few parameters', () => {
    expect(() => new SqlTemplate('INSERT INTO t VALUES (?, ?)').render([1], true)).toThrow(
      /takes 2 parameters/,
    );
  });
});

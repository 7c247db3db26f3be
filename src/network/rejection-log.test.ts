// Rejected connections: one line each without a stack, at most a few a minute, the rest counted.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { RejectionLog } from './rejection-log.js';

function capture() {
  const lines: { msg: string; err?: unknown }[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  );
  return { log, lines };
}

describe('RejectionLog', () => {
  it('logs the first five rejections of a minute, then one line with the count when the minute is over', () => {
    const clock = new ManualClock(1000);
    const rejections = new RejectionLog(clock, 5, 60_000);
    const { log, lines } = capture();
    for (let i = 0; i < 12; i++)
      rejections.report(log, `10.0.0.${i}:4000`, 'authentication failed (wrong proof)');
    expect(lines.map((l) => l.msg)).toEqual([
      ...[0, 1, 2, 3].map(
        (i) => `rejected a connection from 10.0.0.${i}:4000: authentication failed (wrong proof)`,
      ),
      'rejected a connection from 10.0.0.4:4000: authentication failed (wrong proof) (more in the next minute are counted, not logged)',
    ]);
    expect(lines.every((l) => l.err === undefined)).toBe(true);
    clock.advance(59_999);
    expect(lines).toHaveLength(5);
    clock.advance(1);
    expect(lines.at(-1)!.msg).toBe('rejected 7 more internal connection(s) in the last 60 s');
    // A new minute: lines again.
    rejections.report(log, '10.0.0.99:4000', 'bad frame');
    expect(lines.at(-1)!.msg).toBe('rejected a connection from 10.0.0.99:4000: bad frame');
  });
});

// The status block stays below everything else written to the terminal, and never shares a line.
import { describe, expect, it } from 'vitest';
import { StatusLine } from './status-line.js';

/** The cursor moves and clears StatusLine sends: ESC [ n A, ESC [ 0 J, ESC [ 2 K. */
const ESCAPE = new RegExp(`^${String.fromCharCode(27)}\\[(\\d*)([AJK])`, 'u');

/** A fake terminal: a stream whose writes land on a screen that understands what StatusLine sends. */
function terminal(columns = 40) {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const escape = ESCAPE.exec(text.slice(i));
      if (escape) {
        const n = Number(escape[1] || 0);
        if (escape[2] === 'A') row = Math.max(0, row - (n || 1));
        else {
          screen[row] = screen[row]!.slice(0, col);
          if (escape[2] === 'J') screen.splice(row + 1);
        }
        i += escape[0].length - 1;
      } else if (text[i] === '\r') col = 0;
      else if (text[i] === '\n') {
        row++;
        col = 0;
        if (row === screen.length) screen.push('');
      } else {
        screen[row] = screen[row]!.padEnd(col).slice(0, col) + text[i]! + screen[row]!.slice(col + 1);
        col++;
      }
    }
  };
  const stream = {
    columns,
    isTTY: true,
    write(chunk: string | Uint8Array) {
      put(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, screen };
}

describe('StatusLine', () => {
  it('keeps its block below the lines others write, on both streams of the terminal', () => {
    const err = terminal();
    const out = terminal();
    // stdout and stderr on one terminal: what either writes lands on the same screen.
    (out.stream as { write: unknown }).write = err.stream.write.bind(err.stream);
    const status = new StatusLine({ terminal: err.stream, others: [out.stream] });
    status.set(['job RUNNING 1.0s', '  source 10 → sink 9']);
    err.stream.write('12:00:00.000 INFO  checkpoint 1\n');
    out.stream.write('1> hello\n');
    status.set(['job RUNNING 2.0s', '  source 20 → sink 19']);
    expect(err.screen).toEqual([
      '12:00:00.000 INFO  checkpoint 1',
      '1> hello',
      'job RUNNING 2.0s',
      '  source 20 → sink 19',
    ]);
    status.close();
    out.stream.write('done\n');
    expect(err.screen).toEqual([
      '12:00:00.000 INFO  checkpoint 1',
      '1> hello',
      'job RUNNING 2.0s',
      '  source 20 → sink 19',
      'done',
      '',
    ]);
  });

  it('waits below a line someone left open, and cuts its own lines to the width', () => {
    const err = terminal(20);
    const status = new StatusLine({ terminal: err.stream, others: [] });
    err.stream.write('partial ');
    status.set(['a status line far wider than twenty columns']);
    expect(err.screen).toEqual(['partial ']);
    err.stream.write('line\n');
    expect(err.screen).toEqual(['partial line', 'a status line far …']);
    status.close();
  });
});

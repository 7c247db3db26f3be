/**
 * A live status block at the bottom of a terminal (the progress of `sluice run`) that steps aside
 * for every other line written to the terminal — log lines, job output, TaskManager output — so
 * the two never end up on one line.
 */
import { wrapWrites } from './wrap-writes.js';

/** What the status block writes to and watches. */
export interface StatusLineStreams {
  /** The terminal the block is drawn on (stderr). */
  readonly terminal: NodeJS.WriteStream;
  /** Other streams writing to the same terminal (stdout, when it is a TTY). */
  readonly others: readonly NodeJS.WriteStream[];
}

const CLEAR_LINE = '\r\u001b[2K';

/** A status block drawn under everything else written to the terminal. */
export class StatusLine {
  private lines: readonly string[] = [];
  /** Rows the block takes on screen now (0 when hidden). */
  private shown = 0;
  /** A write left its line open: the block waits below until that line ends. */
  private midLine = false;
  private readonly restores: (() => void)[] = [];
  private readonly terminalWrite: (text: string) => void;

  constructor(private readonly streams: StatusLineStreams) {
    const { terminal } = streams;
    // The terminal's own write, taken before wrapping: drawing must not hide and redraw itself.
    const direct = terminal.write.bind(terminal);
    this.terminalWrite = (text) => void direct(text);
    for (const stream of [terminal, ...streams.others])
      this.restores.push(
        wrapWrites(stream, (args, write) => {
          this.hide();
          const ok = write(args);
          const chunk = args[0];
          if ((typeof chunk === 'string' || chunk instanceof Uint8Array) && chunk.length > 0)
            this.midLine = !endsWithNewline(chunk);
          this.draw();
          return ok;
        }),
      );
  }

  /** Shows `lines` as the block (each cut to the terminal's width, so none wraps). */
  set(lines: readonly string[]): void {
    this.hide();
    const width = Math.max(10, (this.streams.terminal.columns || 80) - 1);
    this.lines = lines.map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
    this.draw();
  }

  /** Leaves the block's last content on screen as ordinary lines and restores the streams. */
  close(): void {
    this.hide();
    for (const restore of this.restores.splice(0).reverse()) restore();
    if (this.lines.length > 0) this.terminalWrite(`${this.lines.join('\n')}\n`);
    this.lines = [];
  }

  private hide(): void {
    if (this.shown === 0) return;
    // To the block's first row, then clear it and everything below.
    const up = this.shown > 1 ? `\u001b[${this.shown - 1}A` : '';
    this.terminalWrite(`${CLEAR_LINE}${up}\r\u001b[0J`);
    this.shown = 0;
  }

  private draw(): void {
    if (this.shown > 0 || this.midLine || this.lines.length === 0) return;
    this.terminalWrite(this.lines.join('\n'));
    this.shown = this.lines.length;
  }
}

function endsWithNewline(chunk: string | Uint8Array): boolean {
  return typeof chunk === 'string' ? chunk.endsWith('\n') : chunk[chunk.length - 1] === 0x0a;
}

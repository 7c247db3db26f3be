/**
 * A task's mailbox: letters (control actions: timers, split assignments, later checkpoint
 * triggers) run one at a time, between slices of record processing, never concurrently with it.
 */

/** A control action for the task, with a description for error messages. */
export interface Letter {
  readonly run: () => void;
  readonly description: string;
}

/** FIFO of letters. */
export class Mailbox {
  private letters: Letter[] = [];
  private head = 0;

  put(letter: Letter): void {
    this.letters.push(letter);
  }

  /** Letters waiting. */
  get size(): number {
    return this.letters.length - this.head;
  }

  hasMail(): boolean {
    return this.head < this.letters.length;
  }

  take(): Letter | undefined {
    if (this.head >= this.letters.length) return undefined;
    const letter = this.letters[this.head]!;
    this.letters[this.head++] = undefined as unknown as Letter;
    if (this.head === this.letters.length) {
      this.letters.length = 0;
      this.head = 0;
    }
    return letter;
  }

  clear(): void {
    this.letters = [];
    this.head = 0;
  }
}

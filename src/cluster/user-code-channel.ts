/**
 * The pipe between the JobManager and its user-code process: length-prefixed MessagePack
 * messages, each bounded, so the untrusted side can neither make the JobManager buffer without
 * limit nor crash it with bytes that do not decode.
 */
import type { Duplex } from 'node:stream';
// Before msgpackr loads: it reads its settings from the environment once.
import '../core/msgpackr-setup.js';
import { Packr, Unpackr } from 'msgpackr';

/** Largest message either side accepts (a captured job or an enumerator snapshot). */
export const MAX_USER_CODE_MESSAGE_BYTES = 64 * 1024 * 1024;

const HEADER_BYTES = 4;

/** Sends and receives messages over a stream; a message too large or undecodable closes it with an error. */
export class UserCodeChannel {
  private readonly packr = new Packr({ useRecords: false, moreTypes: true });
  private readonly unpackr = new Unpackr({ useRecords: false, moreTypes: true });
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Body length of the message being received, once its header is in. */
  private expected: number | undefined;
  private failed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly handlers: {
      /** A decoded message, in order; throwing here fails the channel. */
      readonly onMessage: (message: unknown) => void;
      /** The channel is gone: the other side closed it (no error) or it broke (with one). */
      readonly onClosed: (error: Error | undefined) => void;
    },
    private readonly maxMessageBytes = MAX_USER_CODE_MESSAGE_BYTES,
  ) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (e) => this.fail(e));
    stream.on('close', () => this.fail(undefined));
  }

  /** Sends `message`; false when the channel is closed. */
  send(message: unknown): boolean {
    if (this.failed || this.stream.destroyed) return false;
    const body = this.packr.pack(message);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    this.stream.write(Buffer.concat([header, body]));
    return true;
  }

  /** Closes the channel; `onClosed` hears `error` (undefined: a deliberate close). */
  close(error?: Error): void {
    this.fail(error);
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (!this.failed && this.pendingBytes >= HEADER_BYTES) {
      if (this.expected === undefined) {
        if (this.pending[0]!.length < HEADER_BYTES) this.pending = [Buffer.concat(this.pending)];
        const length = this.pending[0]!.readUInt32BE(0);
        if (length > this.maxMessageBytes) {
          this.fail(new Error(`a message of ${length} bytes, more than the ${this.maxMessageBytes} allowed`));
          return;
        }
        this.expected = length;
      }
      // Joined once the whole message is here, not per chunk.
      if (this.pendingBytes < HEADER_BYTES + this.expected) return;
      const buffered = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const body = buffered.subarray(HEADER_BYTES, HEADER_BYTES + this.expected);
      const rest = buffered.subarray(HEADER_BYTES + this.expected);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.expected = undefined;
      let message: unknown;
      try {
        message = this.unpackr.unpack(body);
      } catch (e) {
        this.fail(
          new Error(`a message that is not valid MessagePack (${(e as Error).message})`, { cause: e }),
        );
        return;
      }
      try {
        this.handlers.onMessage(message);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private fail(error: Error | undefined): void {
    if (this.failed) return;
    this.failed = true;
    this.pending = [];
    this.stream.destroy();
    this.handlers.onClosed(error);
  }
}

/** Errors as they cross a control connection: message, remote stack with causes, and a Sluice code that stays a code. */
import { inspect } from 'node:util';
import { ErrorCodes, SluiceError, type ErrorCode } from '../../core/errors.js';
import { objectOf, optional, text, type Check } from './rpc-schema.js';

/** An error as it crosses the wire: the remote stack stays readable, a Sluice code stays a code. */
export interface RpcError {
  readonly message: string;
  /** The remote stack, with `Caused by:` sections for its causes. */
  readonly stack: string;
  /** The SluiceError code, when it was one. */
  readonly code?: string;
}

/** Checks an RpcError's fields. */
export const checkRpcError: Check<RpcError> = objectOf<RpcError>({
  message: text,
  stack: text,
  code: optional(text),
});

/** A thrown value that is no Error, in words. */
function describeThrown(value: unknown): string {
  return typeof value === 'string' ? value : inspect(value, { depth: 2 });
}

/** `error` (any thrown value) as it crosses the wire, its causes appended to the stack. */
export function toRpcError(error: unknown): RpcError {
  if (!(error instanceof Error)) return { message: describeThrown(error), stack: '' };
  let stack = error.stack ?? `${error.name}: ${error.message}`;
  let cause: unknown = error.cause;
  // A bounded walk: a cause chain can be cyclic.
  for (let depth = 0; cause !== undefined && depth < 8; depth++) {
    stack += `\nCaused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : describeThrown(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const code = error instanceof SluiceError ? error.code : undefined;
  return code === undefined ? { message: error.message, stack } : { message: error.message, stack, code };
}

/** The Error an RpcError stands for: a SluiceError when its code is known here, else a plain Error. */
export function fromRpcError(error: RpcError): Error {
  const code = error.code;
  const result =
    code !== undefined && Object.hasOwn(ErrorCodes, code)
      ? new SluiceError(code as ErrorCode, error.message)
      : new Error(error.message);
  if (error.stack === '') return result;
  result.stack = error.stack;
  // The causes travel appended to the stack; rebuild the first as `cause` too, so whoever reports
  // the error (the CLI prints the user's original stack) finds it where it would locally.
  const at = error.stack.indexOf('\nCaused by: ');
  if (at < 0) return result;
  const causeStack = error.stack.slice(at + '\nCaused by: '.length);
  const firstLine = causeStack.split('\n', 1)[0]!;
  const cause = new Error(firstLine.replace(/^[\w$.]*(Error|Exception)\b:?\s*/u, ''));
  cause.stack = causeStack;
  Object.defineProperty(result, 'cause', { value: cause, writable: true, configurable: true });
  return result;
}

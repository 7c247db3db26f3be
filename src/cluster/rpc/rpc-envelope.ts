/** How a control-plane message travels (told, asked with a correlation id, or answered), as one MessagePack body. */
import { MsgpackSerializer } from '../../core/serializer.js';
import { checkRpcError, type RpcError } from './rpc-error.js';
import {
  RpcProtocolError,
  parseRpcMessage,
  type MessageTo,
  type RpcEndpoint,
  type RpcMessage,
} from './rpc-messages.js';
import { field, nat, plainObject, reject } from './rpc-schema.js';

/**
 * One MESSAGE body. Correlation lives here, not in the messages, so a message means the same
 * whether it was told or asked, and a reply is matched to its ask by `id` alone.
 */
export type RpcEnvelope<M extends RpcMessage> =
  /** Fire and forget. */
  | { readonly kind: 'tell'; readonly message: M }
  /** Expects one `reply` or `reply-error` with the same `id`. */
  | { readonly kind: 'ask'; readonly id: number; readonly message: M }
  /** The answer to ask `id`. */
  | { readonly kind: 'reply'; readonly id: number; readonly message: M }
  /** Ask `id` could not be answered: the responder's error. */
  | { readonly kind: 'reply-error'; readonly id: number; readonly error: RpcError };

const serializer = new MsgpackSerializer<unknown>();

/**
 * The body of `envelope`, in a buffer of its own: the serializer reuses its output buffer, and
 * the socket may hold the bytes until they are written.
 */
export function encodeEnvelope(envelope: RpcEnvelope<RpcMessage>): Uint8Array {
  return new Uint8Array(serializer.serialize(envelope));
}

/**
 * The envelope in `body`, its message checked field by field and for its direction (`to`), or
 * the RpcProtocolError that closes the connection. Never throws on bytes.
 */
export function decodeEnvelope<E extends RpcEndpoint>(
  body: Uint8Array,
  to: E,
): RpcEnvelope<MessageTo<E>> | RpcProtocolError {
  let value: unknown;
  try {
    value = serializer.deserialize(body, 0, body.length);
  } catch (e) {
    return new RpcProtocolError('envelope', `malformed message: not MessagePack (${(e as Error).message})`);
  }
  try {
    const object = plainObject(value, 'envelope');
    const kind = field(object, 'kind');
    const message = (): MessageTo<E> => {
      const parsed = parseRpcMessage(field(object, 'message'), to);
      if (parsed instanceof RpcProtocolError) throw parsed;
      return parsed;
    };
    switch (kind) {
      case 'tell':
        return { kind, message: message() };
      case 'ask':
      case 'reply':
        return { kind, id: nat(field(object, 'id'), 'envelope.id'), message: message() };
      case 'reply-error':
        return {
          kind,
          id: nat(field(object, 'id'), 'envelope.id'),
          error: checkRpcError(field(object, 'error'), 'envelope.error'),
        };
      default:
        return reject('envelope.kind', 'tell, ask, reply or reply-error', kind);
    }
  } catch (e) {
    if (e instanceof RpcProtocolError) return e;
    throw e;
  }
}

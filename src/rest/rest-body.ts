/** Request bodies read within limits while they stream, and the answers the HTTP parser itself cannot route. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, type Readable } from 'node:stream';
import { RestHandlerException } from './rest-router.js';
import type { ErrorResponseBody } from './rest-schema.js';

/** Largest body of an endpoint that takes a JSON document (a JarRunRequestBody is a few KiB). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Whether the request announces a body (a positive Content-Length, or chunked transfer). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

function tooLarge(limit: number, key: string): RestHandlerException {
  // No `Connection: close`: node:http then destroys the socket as soon as the answer is written,
  // which resets a connection the client is still sending on, and a reset can take the unread
  // answer with it. The server closes it itself after the answer (see closeUnread).
  return new RestHandlerException(413, `Request body is larger than the ${limit} bytes allowed (${key}).`);
}

/** A 413 before reading anything, when the declared length is already over `limit`. */
export function declaredTooLarge(
  req: IncomingMessage,
  limit: number,
  key: string,
): RestHandlerException | undefined {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit ? tooLarge(limit, key) : undefined;
}

/**
 * Reads the whole body, up to `limit` bytes; past that it stops reading and rejects with a 413
 * (the server then drops the rest with the connection).
 */
export function readBody(req: IncomingMessage, limit: number, key: string): Promise<Buffer> {
  const early = declaredTooLarge(req, limit, key);
  if (early) return Promise.reject(early);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(tooLarge(limit, key));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The body as a stream that fails with a 413 once more than `limit` bytes came through, so an
 * upload is parsed as it arrives and never held beyond the limit.
 */
export function limitedBody(req: IncomingMessage, limit: number, key: string): Readable {
  const out = new PassThrough();
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (out.destroyed) return;
    size += chunk.length;
    if (size > limit) {
      req.pause();
      out.destroy(tooLarge(limit, key));
      return;
    }
    if (!out.write(chunk)) {
      req.pause();
      out.once('drain', () => req.resume());
    }
  });
  req.on('end', () => out.end());
  req.on('error', (e) => out.destroy(e));
  return out;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/**
 * The answer to a request node:http could not parse (a bad method, garbage, an over-long request
 * line or header): Flink's `{"errors": [...]}`, then the connection closes.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request line or headers are too large (at most 16 KiB).']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive.']
        : error.code === 'HPE_INVALID_METHOD'
          ? [400, 'Malformed HTTP request: unknown method; the REST API takes GET, POST, PATCH and DELETE.']
          : [400, `Malformed HTTP request (${error.code ?? error.message}).`];
  const body = JSON.stringify({ errors: [message] } satisfies ErrorResponseBody);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=UTF-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** The `_metadata` document of a completed checkpoint and its versioned, checksummed binary encoding. */
// Before msgpackr loads: it reads its settings from the environment once.
import '../core/msgpackr-setup.js';
import { Packr, Unpackr } from 'msgpackr';
import { SluiceError, invariant } from '../core/errors.js';
import type { CheckpointId, JobId, OperatorId } from '../core/ids.js';
import { UPPER_BOUND_MAX_PARALLELISM } from '../core/key-groups.js';
import { SavepointFormatTypes, type SavepointFormatType } from '../protocol/snapshot-kind.js';
import { crc32c } from './crc32c.js';
import {
  OPERATOR_STATE_MODES,
  STATE_SCOPES,
  keyGroupRangeSize,
  relativePathProblem,
  stateSize,
  type KeyedStateHandle,
  type OperatorStateHandle,
  type StreamStateHandle,
} from './state-handle.js';
import { corruptMetadata } from './storage-errors.js';

/** `SLCK` as a big-endian uint32: the first four bytes of every `_metadata` file. */
export const METADATA_MAGIC = 0x534c434b;
/**
 * The format version this Sluice writes. Version 3 (unaligned checkpoints) adds `channelState` to
 * a subtask: the handle of its in-flight data. Version 2 (incremental checkpoints) adds `deltas` to
 * a keyed handle: the chain of shared blobs applied after its base. Version 1 is version 2 without
 * deltas. Older versions are still read; a field they did not have is rejected in them.
 */
export const METADATA_FORMAT_VERSION = 3;
/** Every format version this Sluice can read; a new writer version keeps the old readers. */
export const SUPPORTED_METADATA_VERSIONS: readonly number[] = [1, 2, 3];

// Frame: magic (4) | version (4) | body length (4) | body | CRC32C of body (4), all big-endian.
// The header is not under the checksum because each header field is checked on its own: a flipped
// magic or version is rejected by value and a flipped length by the frame no longer adding up.
const HEADER_BYTES = 12;
const TRAILER_BYTES = 4;

// A dedicated codec rather than core's record serializer: the on-disk format must not change
// when someone tunes how records are serialized. Plain MessagePack maps (no msgpackr records
// extension), so any MessagePack tool can read a `_metadata` body.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** State of the JobManager side of the job (e.g. a source's split enumerator), by name. */
export interface MasterState {
  readonly name: string;
  readonly handle: StreamStateHandle;
}

/** The state of one subtask of one operator. */
export interface SubtaskSnapshot {
  /** Subtask index, in `[0, parallelism)`. */
  readonly subtask: number;
  readonly keyed: readonly KeyedStateHandle[];
  readonly operator: readonly OperatorStateHandle[];
  /** The subtask's in-flight data of an unaligned checkpoint (replayed before new data on restore). */
  readonly channelState?: StreamStateHandle;
  /** Bytes this checkpoint wrote for the subtask (smaller than the full state when incremental). */
  readonly stats?: { readonly checkpointedSize: number };
}

/** The state of one operator at the checkpoint, by stable operator id (and uid when the user set one). */
export interface OperatorSnapshot {
  readonly operatorId: OperatorId;
  readonly uid?: string;
  /** The operator's name, for people (`sluice inspect`); absent in metadata written before it was kept. */
  readonly name?: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** Subtasks that have state; a subtask without any may be left out. */
  readonly subtasks: readonly SubtaskSnapshot[];
}

/** What `_metadata` says: the proof that a checkpoint completed, and the map of all its state. */
export interface CheckpointMetadata {
  /** The format version the document was read from (or is to be written in). */
  readonly formatVersion: number;
  readonly jobId: JobId;
  readonly checkpointId: CheckpointId;
  /** Epoch milliseconds when the checkpoint was triggered. */
  readonly triggerTimestamp: number;
  /** Epoch milliseconds when the last acknowledgement arrived. */
  readonly completionTimestamp: number;
  readonly isSavepoint: boolean;
  /** A savepoint's format (absent: a checkpoint, or a savepoint written before it was kept: CANONICAL). */
  readonly savepointFormat?: SavepointFormatType;
  /** The state backend type of the job that took it (`state.backend.type`), when known. */
  readonly stateBackend?: string;
  readonly operators: readonly OperatorSnapshot[];
  readonly masterStates: readonly MasterState[];
}

/**
 * The bytes of a `_metadata` file for `meta`. Throws SLUICE_INTERNAL_ASSERTION rather than write a
 * document that `decodeMetadata` would reject (found at recovery time, that would be too late).
 */
export function encodeMetadata(meta: CheckpointMetadata): Uint8Array {
  invariant(
    meta.formatVersion === METADATA_FORMAT_VERSION,
    `checkpoint metadata is written in format version ${METADATA_FORMAT_VERSION}, not ${meta.formatVersion}`,
  );
  const wire = toWire(meta);
  parseDocument(wire, METADATA_FORMAT_VERSION, (path, problem) => {
    throw new SluiceError(
      'SLUICE_INTERNAL_ASSERTION',
      `refusing to write checkpoint metadata ${meta.jobId}/chk-${meta.checkpointId} that could not be read back: ${path} ${problem}`,
    );
  });
  const body = packr.pack(wire);
  invariant(body.length <= 0xffffffff, 'checkpoint metadata body fits a uint32 length');
  const out = new Uint8Array(HEADER_BYTES + body.length + TRAILER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, METADATA_MAGIC);
  view.setUint32(4, METADATA_FORMAT_VERSION);
  view.setUint32(8, body.length);
  out.set(body, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + body.length, crc32c(body));
  return out;
}

/**
 * The document in a `_metadata` file's bytes. `where` names the file for messages. Throws
 * SLUICE_CHECKPOINT_CORRUPT saying what is wrong: bad magic, unsupported version, truncated,
 * trailing bytes, checksum mismatch, or a body that is not a valid document.
 */
export function decodeMetadata(bytes: Uint8Array, where: string): CheckpointMetadata {
  const fail = (problem: string, cause?: unknown): never => {
    throw corruptMetadata(where, problem, cause);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // What the file does start with is not said: a REST user pointing a restore at any file of the
  // JobManager must not learn its contents (issue 11).
  if (bytes.length >= 4 && view.getUint32(0) !== METADATA_MAGIC)
    fail('it does not start with "SLCK": not a Sluice checkpoint metadata file');
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES)
    fail(`truncated: ${bytes.length} bytes, less than the ${HEADER_BYTES + TRAILER_BYTES}-byte frame`);
  const version = view.getUint32(4);
  if (!SUPPORTED_METADATA_VERSIONS.includes(version))
    fail(
      `format version ${version} is not supported; this Sluice reads version${SUPPORTED_METADATA_VERSIONS.length > 1 ? 's' : ''} ` +
        `${SUPPORTED_METADATA_VERSIONS.join(', ')} (a newer Sluice may have written it)`,
    );
  const bodyLength = view.getUint32(8);
  const expected = HEADER_BYTES + bodyLength + TRAILER_BYTES;
  if (bytes.length < expected)
    fail(
      `truncated: the header announces a ${bodyLength}-byte body (${expected} bytes in all), the file has ${bytes.length}`,
    );
  if (bytes.length > expected)
    fail(
      `${bytes.length - expected} unexpected bytes after the checksum (the header announces a ${bodyLength}-byte body)`,
    );
  const body = bytes.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength);
  const stored = view.getUint32(HEADER_BYTES + bodyLength);
  const computed = crc32c(body);
  if (stored !== computed) fail(`checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)})`);
  let raw: unknown;
  try {
    raw = unpackr.unpack(body);
  } catch (e) {
    fail(`the body is not valid MessagePack (${(e as Error).message})`, e);
  }
  return parseDocument(raw, version, (path, problem) => fail(`${path} ${problem}`));
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

// ---- document ⇄ wire form ------------------------------------------------------------------

// The wire form is the document with absent optionals left out (MessagePack would otherwise
// carry `undefined` as an extension type) and without formatVersion, which the header carries.
function toWire(meta: CheckpointMetadata): Record<string, unknown> {
  return {
    // Repeated inside the checksummed body (from version 2), so a damaged header version that
    // happens to name another readable version is still caught.
    formatVersion: meta.formatVersion,
    jobId: meta.jobId,
    checkpointId: meta.checkpointId,
    triggerTimestamp: meta.triggerTimestamp,
    completionTimestamp: meta.completionTimestamp,
    isSavepoint: meta.isSavepoint,
    ...(meta.savepointFormat === undefined ? {} : { savepointFormat: meta.savepointFormat }),
    ...(meta.stateBackend === undefined ? {} : { stateBackend: meta.stateBackend }),
    operators: meta.operators.map((op) => ({
      operatorId: op.operatorId,
      ...(op.uid === undefined ? {} : { uid: op.uid }),
      ...(op.name === undefined ? {} : { name: op.name }),
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      subtasks: op.subtasks.map((st) => ({
        subtask: st.subtask,
        keyed: st.keyed.map((k) => ({
          keyGroupRange: { start: k.keyGroupRange.start, end: k.keyGroupRange.end },
          offsets: k.offsets,
          handle: streamHandleToWire(k.handle),
          ...(k.deltas === undefined
            ? {}
            : {
                deltas: k.deltas.map((d) => ({ offsets: d.offsets, handle: streamHandleToWire(d.handle) })),
              }),
        })),
        operator: st.operator.map((o) => ({
          name: o.name,
          mode: o.mode,
          handle: streamHandleToWire(o.handle),
        })),
        ...(st.channelState === undefined ? {} : { channelState: streamHandleToWire(st.channelState) }),
        ...(st.stats === undefined ? {} : { stats: { checkpointedSize: st.stats.checkpointedSize } }),
      })),
    })),
    masterStates: meta.masterStates.map((m) => ({ name: m.name, handle: streamHandleToWire(m.handle) })),
  };
}

function streamHandleToWire(h: StreamStateHandle): Record<string, unknown> {
  return h.kind === 'inline'
    ? { kind: 'inline', data: h.data }
    : { kind: 'file', path: h.path, size: h.size, checksum: h.checksum, scope: h.scope };
}

type Fail = (path: string, problem: string) => never;

/** Reads the wire form back into a typed document, failing with the path of the first bad field. */
function parseDocument(raw: unknown, formatVersion: number, fail: Fail): CheckpointMetadata {
  const r = new Reader(fail);
  const doc = r.map(raw, 'body');
  if (formatVersion >= 2 && doc['formatVersion'] !== formatVersion)
    fail(
      'formatVersion',
      `should repeat the header's format version ${formatVersion}, found ${kindOf(doc['formatVersion'])}`,
    );
  if (formatVersion < 2 && doc['formatVersion'] !== undefined)
    fail('formatVersion', `is not part of format version ${formatVersion}`);
  // Scalars first, so a message names the most basic problem.
  const header = {
    formatVersion,
    jobId: r.string(doc['jobId'], 'jobId') as JobId,
    checkpointId: r.integer(doc['checkpointId'], 'checkpointId', 1) as CheckpointId,
    triggerTimestamp: r.integer(doc['triggerTimestamp'], 'triggerTimestamp', 0),
    completionTimestamp: r.integer(doc['completionTimestamp'], 'completionTimestamp', 0),
    isSavepoint: r.boolean(doc['isSavepoint'], 'isSavepoint'),
    ...(doc['savepointFormat'] === undefined
      ? {}
      : { savepointFormat: r.oneOf(doc['savepointFormat'], 'savepointFormat', SavepointFormatTypes) }),
    ...(doc['stateBackend'] === undefined
      ? {}
      : { stateBackend: r.string(doc['stateBackend'], 'stateBackend') }),
  };
  const seenOperators = new Set<string>();
  const operators = r.list(doc['operators'], 'operators').map((rawOp, i): OperatorSnapshot => {
    const at = `operators[${i}]`;
    const op = r.map(rawOp, at);
    const operatorId = r.string(op['operatorId'], `${at}.operatorId`);
    if (seenOperators.has(operatorId)) fail(`${at}.operatorId`, `repeats operator ${operatorId}`);
    seenOperators.add(operatorId);
    const parallelism = r.integer(op['parallelism'], `${at}.parallelism`, 1, UPPER_BOUND_MAX_PARALLELISM);
    const maxParallelism = r.integer(
      op['maxParallelism'],
      `${at}.maxParallelism`,
      parallelism,
      UPPER_BOUND_MAX_PARALLELISM,
    );
    const seenSubtasks = new Set<number>();
    const subtasks = r.list(op['subtasks'], `${at}.subtasks`).map((rawSt, j): SubtaskSnapshot => {
      const sat = `${at}.subtasks[${j}]`;
      const st = r.map(rawSt, sat);
      const subtask = r.integer(st['subtask'], `${sat}.subtask`, 0, parallelism - 1);
      if (seenSubtasks.has(subtask)) fail(`${sat}.subtask`, `repeats subtask ${subtask}`);
      seenSubtasks.add(subtask);
      const keyed = r
        .list(st['keyed'], `${sat}.keyed`)
        .map((k, n) => r.keyed(k, `${sat}.keyed[${n}]`, maxParallelism, formatVersion));
      const operator = r
        .list(st['operator'], `${sat}.operator`)
        .map((o, n) => r.operatorState(o, `${sat}.operator[${n}]`));
      if (st['channelState'] !== undefined && formatVersion < 3)
        fail(`${sat}.channelState`, `is not part of format version ${formatVersion}`);
      const base = {
        subtask,
        keyed,
        operator,
        ...(st['channelState'] === undefined
          ? {}
          : { channelState: r.stream(st['channelState'], `${sat}.channelState`) }),
      };
      if (st['stats'] === undefined) return base;
      const stats = r.map(st['stats'], `${sat}.stats`);
      return {
        ...base,
        stats: { checkpointedSize: r.integer(stats['checkpointedSize'], `${sat}.stats.checkpointedSize`, 0) },
      };
    });
    const base = {
      operatorId: operatorId as OperatorId,
      ...(op['uid'] === undefined ? {} : { uid: r.string(op['uid'], `${at}.uid`) }),
      // Optional and only informative, so metadata written without it reads the same.
      ...(op['name'] === undefined ? {} : { name: r.string(op['name'], `${at}.name`) }),
      parallelism,
      maxParallelism,
      subtasks,
    };
    return base;
  });
  const masterStates = r.list(doc['masterStates'], 'masterStates').map((rawM, i) => {
    const m = r.map(rawM, `masterStates[${i}]`);
    return {
      name: r.string(m['name'], `masterStates[${i}].name`),
      handle: r.stream(m['handle'], `masterStates[${i}].handle`),
    };
  });
  return { ...header, operators, masterStates };
}

/** Typed field readers over untrusted decoded MessagePack. */
class Reader {
  constructor(private readonly fail: Fail) {}

  map(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
      return this.fail(path, `should be a map, found ${kindOf(v)}`);
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: string): unknown[] {
    return Array.isArray(v) ? v : this.fail(path, `should be a list, found ${kindOf(v)}`);
  }

  string(v: unknown, path: string): string {
    return typeof v === 'string' && v !== ''
      ? v
      : this.fail(path, `should be a non-empty string, found ${kindOf(v)}`);
  }

  boolean(v: unknown, path: string): boolean {
    return typeof v === 'boolean' ? v : this.fail(path, `should be a boolean, found ${kindOf(v)}`);
  }

  integer(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max) return v;
    return this.fail(path, `should be an integer in [${min}, ${max}], found ${kindOf(v)}`);
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    return allowed.includes(v as T)
      ? (v as T)
      : this.fail(path, `should be one of ${allowed.join(', ')}, found ${kindOf(v)}`);
  }

  stream(v: unknown, path: string): StreamStateHandle {
    const h = this.map(v, path);
    const kind = this.oneOf(h['kind'], `${path}.kind`, ['inline', 'file'] as const);
    if (kind === 'inline') {
      const data = h['data'];
      if (!(data instanceof Uint8Array))
        return this.fail(`${path}.data`, `should be bytes, found ${kindOf(data)}`);
      // A copy: decoded bytes may be views into a buffer the caller keeps (jobmanager storage).
      return { kind: 'inline', data: new Uint8Array(data) };
    }
    const filePath = this.string(h['path'], `${path}.path`);
    const problem = relativePathProblem(filePath);
    if (problem !== undefined) this.fail(`${path}.path`, `"${filePath}" ${problem}`);
    return {
      kind: 'file',
      path: filePath,
      size: this.integer(h['size'], `${path}.size`, 0),
      checksum: this.integer(h['checksum'], `${path}.checksum`, 0, 0xffffffff),
      scope: this.oneOf(h['scope'], `${path}.scope`, STATE_SCOPES),
    };
  }

  keyed(v: unknown, path: string, maxParallelism: number, formatVersion: number): KeyedStateHandle {
    const k = this.map(v, path);
    const range = this.map(k['keyGroupRange'], `${path}.keyGroupRange`);
    const start = this.integer(range['start'], `${path}.keyGroupRange.start`, 0, maxParallelism - 1);
    const end = this.integer(range['end'], `${path}.keyGroupRange.end`, start - 1, maxParallelism - 1);
    const { offsets, handle } = this.blob(k, path, keyGroupRangeSize({ start, end }), `${start}..${end}`);
    if (k['deltas'] === undefined) return { keyGroupRange: { start, end }, offsets, handle };
    if (formatVersion < 2) this.fail(`${path}.deltas`, 'is not part of format version 1');
    const deltas = this.list(k['deltas'], `${path}.deltas`).map((d, i) =>
      this.blob(
        this.map(d, `${path}.deltas[${i}]`),
        `${path}.deltas[${i}]`,
        offsets.length,
        `${start}..${end}`,
      ),
    );
    return { keyGroupRange: { start, end }, offsets, handle, deltas };
  }

  /** A stream handle with one offset per key group into it, non-decreasing and within its size. */
  private blob(
    k: Record<string, unknown>,
    path: string,
    count: number,
    groups: string,
  ): { offsets: number[]; handle: StreamStateHandle } {
    const handle = this.stream(k['handle'], `${path}.handle`);
    const size = stateSize(handle);
    const offsets = this.list(k['offsets'], `${path}.offsets`).map((o, i) =>
      this.integer(o, `${path}.offsets[${i}]`, 0, size),
    );
    if (offsets.length !== count)
      this.fail(
        `${path}.offsets`,
        `should hold ${count} offsets (one per key group ${groups}), found ${offsets.length}`,
      );
    offsets.forEach((o, i) => {
      if (i > 0 && o < offsets[i - 1]!)
        this.fail(`${path}.offsets[${i}]`, `is ${o}, below the previous offset`);
    });
    return { offsets, handle };
  }

  operatorState(v: unknown, path: string): OperatorStateHandle {
    const o = this.map(v, path);
    return {
      name: this.string(o['name'], `${path}.name`),
      mode: this.oneOf(o['mode'], `${path}.mode`, OPERATOR_STATE_MODES),
      handle: this.stream(o['handle'], `${path}.handle`),
    };
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v === 'object' ? 'a map' : typeof v;
}

/**
 * Operator state snapshots: their shape, and the persisted format of one list state's data.
 *
 * PERSISTED FORMAT, version 1 (never change a byte's meaning; add a version instead). Integers are
 * big-endian. The `data` of each state of an OperatorStateSnapshot is
 *
 *   u8  format version (1)
 *   str element serializer name, u32 element serializer version
 *   u32 element count, then per element: u32 length, the serializer's bytes
 *
 * (str = u32 byte length + UTF-8). Elements are length-prefixed one by one so that redistribution
 * on rescale can split and merge lists without deserializing them.
 */
import { ByteReader, ByteWriter, corruptSnapshot } from './byte-io.js';
import type { SerializerId } from './serializer-id.js';

/**
 * How a list state is redistributed when the operator's parallelism changes (Flink's
 * `OperatorStateHandle.Mode`): split evenly across the new subtasks, or given whole to each, or
 * (broadcast state, equal on every subtask) one old subtask's copy to each.
 */
export type OperatorStateMode = 'SPLIT_DISTRIBUTE' | 'UNION' | 'BROADCAST';

/** One named list state of an operator subtask, serialized. */
export interface OperatorStateEntry {
  readonly name: string;
  readonly mode: OperatorStateMode;
  /** The elements in the format of this module's header. */
  readonly data: Uint8Array;
}

/** The operator (non-keyed) state of one subtask at one checkpoint. */
export interface OperatorStateSnapshot {
  readonly states: readonly OperatorStateEntry[];
}

/** A snapshot of operator state after its synchronous phase; `write()` is the asynchronous one. */
export interface OperatorSnapshotRun {
  /** The checkpoint the snapshot belongs to. */
  readonly checkpointId: number;
  /**
   * Serializes the lists as they were at `snapshot()`, yielding to the event loop between
   * slices. Call at most once; rejects with SLUICE_CHECKPOINT_STORAGE_FAILED if released first.
   */
  write(): Promise<OperatorStateSnapshot>;
  /** Drops the captured lists (idempotent); for a checkpoint aborted before `write()` finished. */
  release(): void;
}

/** The format version this code writes and reads. */
export const OPERATOR_STATE_FORMAT_VERSION = 1;

/** A list state's data, parsed down to its elements' bytes. */
export interface ParsedListData {
  readonly serializer: SerializerId;
  /** Each element's serialized bytes: views into the data, not copies. */
  readonly elements: Uint8Array[];
}

/** Writes the header of a list state's data; the caller then writes the count and elements. */
export function writeListHeader(w: ByteWriter, serializer: SerializerId): void {
  w.u8(OPERATOR_STATE_FORMAT_VERSION);
  w.str(serializer.name);
  w.u32(serializer.version);
}

/** Splits a list state's data into its elements' bytes; `what` names it in error messages. */
export function parseListData(data: Uint8Array, what: string): ParsedListData {
  const r = new ByteReader(data, 0, data.length, what);
  const version = r.u8();
  if (version !== OPERATOR_STATE_FORMAT_VERSION)
    throw corruptSnapshot(
      what,
      `format version ${version} is not one this Sluice can read (it reads ${OPERATOR_STATE_FORMAT_VERSION})`,
    );
  const serializer = { name: r.str(), version: r.u32() };
  const count = r.u32();
  const elements: Uint8Array[] = [];
  for (let i = 0; i < count; i++) elements.push(r.lengthPrefixed());
  r.expectDone();
  return { serializer, elements };
}

/** A list state's data holding already-serialized elements. */
export function encodeListData(serializer: SerializerId, elements: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const element of elements) size += 4 + element.length;
  const w = new ByteWriter(size + 64);
  writeListHeader(w, serializer);
  w.u32(elements.length);
  for (const element of elements) w.bytes(element);
  return w.toBytes();
}

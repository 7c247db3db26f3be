/**
 * Reads a checkpoint or savepoint for people (`sluice inspect`): its metadata with, per subtask,
 * the key-group ranges, the states in them and their sizes, and the files; and one keyed state's
 * entries. Only reads: nothing here writes to or deletes from a snapshot.
 */
import { SluiceError } from '../core/errors.js';
import { JsonSerializer, MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import type { ByteReader } from '../state/byte-io.js';
import { chainKeyGroupBlocks } from '../state/heap/chain-restore.js';
import {
  decodeEntries,
  readKeyGroupBlocks,
  readSnapshotHeader,
  type SnapshotBlock,
} from '../state/heap/keyed-snapshot-reader.js';
import type { KeyedStateSnapshot } from '../state/keyed-state-snapshot.js';
import type { SerializerId } from '../state/serializer-id.js';
import type { CheckpointMetadata, OperatorSnapshot } from '../storage/checkpoint-metadata.js';
import {
  readFileState,
  resolveFileCheckpoint,
} from '../storage/filesystem/file-system-checkpoint-storage.js';
import { stateSize, type KeyedStateHandle, type StreamStateHandle } from '../storage/state-handle.js';

/** One state (or timer queue) of a subtask's keyed snapshot: its kind and the bytes of its entries. */
export interface InspectedState {
  readonly name: string;
  readonly kind: string;
  readonly bytes: number;
}

/** A stream handle as shown: inline, or a file (path relative to the snapshot or job directory). */
export interface InspectedHandle {
  readonly bytes: number;
  readonly file?: string;
  readonly scope?: string;
}

/** One subtask of one operator. */
export interface InspectedSubtask {
  readonly subtask: number;
  readonly keyed: readonly {
    readonly keyGroups: { readonly start: number; readonly end: number };
    readonly handles: readonly InspectedHandle[];
    readonly states: readonly InspectedState[];
  }[];
  readonly operator: readonly {
    readonly name: string;
    readonly mode: string;
    readonly handle: InspectedHandle;
  }[];
}

/** One operator of the snapshot. */
export interface InspectedOperator {
  readonly operatorId: string;
  readonly uid?: string;
  /** Absent in metadata written before names were kept. */
  readonly name?: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly subtasks: readonly InspectedSubtask[];
}

/** What `sluice inspect PATH --json` prints. */
export interface InspectedSnapshot {
  readonly type: 'SAVEPOINT' | 'CHECKPOINT';
  readonly path: string;
  readonly id: number;
  readonly jobId: string;
  readonly formatVersion: number;
  /** A savepoint's format: CANONICAL (also for savepoints that predate its recording) or NATIVE. */
  readonly savepointFormat?: 'CANONICAL' | 'NATIVE';
  /** The state backend type of the job that took it, when recorded. */
  readonly stateBackend?: string;
  readonly triggerTimestamp: number;
  readonly completionTimestamp: number;
  readonly masterStates: readonly { readonly name: string; readonly handle: InspectedHandle }[];
  readonly operators: readonly InspectedOperator[];
}

/** The checkpoint or savepoint at `path` (its directory or `_metadata`), read in full. */
export async function inspectSnapshot(path: string): Promise<InspectedSnapshot> {
  const { metadata, location } = await resolveFileCheckpoint(path);
  const pointer = location.pointer;
  const operators: InspectedOperator[] = [];
  for (const op of metadata.operators) {
    const subtasks: InspectedSubtask[] = [];
    for (const st of op.subtasks) {
      const keyed = [];
      for (const handle of st.keyed)
        keyed.push({
          keyGroups: handle.keyGroupRange,
          handles: [handle.handle, ...(handle.deltas ?? []).map((d) => d.handle)].map(shown),
          states: statesOf(await keyGroupBlocks(handle, pointer)),
        });
      subtasks.push({
        subtask: st.subtask,
        keyed,
        operator: st.operator.map((o) => ({ name: o.name, mode: o.mode, handle: shown(o.handle) })),
      });
    }
    operators.push({
      operatorId: op.operatorId,
      ...(op.uid === undefined ? {} : { uid: op.uid }),
      ...(op.name === undefined ? {} : { name: op.name }),
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      subtasks,
    });
  }
  return {
    type: metadata.isSavepoint ? 'SAVEPOINT' : 'CHECKPOINT',
    path: pointer,
    id: metadata.checkpointId,
    jobId: metadata.jobId,
    formatVersion: metadata.formatVersion,
    ...(metadata.isSavepoint ? { savepointFormat: metadata.savepointFormat ?? 'CANONICAL' } : {}),
    ...(metadata.stateBackend === undefined ? {} : { stateBackend: metadata.stateBackend }),
    triggerTimestamp: metadata.triggerTimestamp,
    completionTimestamp: metadata.completionTimestamp,
    masterStates: metadata.masterStates.map((m) => ({ name: m.name, handle: shown(m.handle) })),
    operators,
  };
}

/**
 * Every entry of keyed state `stateName` of operator `operator` (its uid, or its operator id) in
 * the snapshot at `path`, over all its subtasks, as `{ key, value }`; list state gives the list,
 * map state the map. Throws SLUICE_INSPECT_FAILED naming what exists when the operator or state
 * is not there, or when its serializer is one only the job knows.
 */
export async function dumpKeyedState(
  path: string,
  operator: string,
  stateName: string,
  onEntry: (entry: { readonly key: unknown; readonly value: unknown }) => void,
): Promise<number> {
  const { metadata, location } = await resolveFileCheckpoint(path);
  const op = findOperator(metadata, operator, path);
  let found = false;
  let count = 0;
  for (const st of op.subtasks)
    for (const handle of st.keyed) {
      const { keySerializer, groups } = await keyGroupBlocks(handle, location.pointer);
      for (const { keyGroup, blocks } of groups)
        for (const block of blocks) {
          if (block.name !== stateName || block.kind === 'timers') continue;
          found = true;
          const what = `state '${stateName}' in key group ${keyGroup}`;
          decodeEntries(block.payload, what, keySerializer, valueReader(block), (key, value) => {
            count++;
            onEntry({ key, value });
          });
        }
    }
  if (!found) {
    const names = new Set<string>();
    for (const st of op.subtasks)
      for (const handle of st.keyed)
        for (const s of statesOf(await keyGroupBlocks(handle, location.pointer))) names.add(s.name);
    if (!names.has(stateName))
      throw inspectFailed(
        `operator ${describe(op)} has no keyed state '${stateName}' in ${path}; it has ${
          names.size === 0 ? 'no keyed state' : [...names].map((n) => `'${n}'`).join(', ')
        }.`,
      );
  }
  return count;
}

function findOperator(metadata: CheckpointMetadata, operator: string, path: string): OperatorSnapshot {
  const op =
    metadata.operators.find((o) => o.uid === operator) ??
    metadata.operators.find((o) => o.operatorId === operator);
  if (op) return op;
  const known = metadata.operators.map(describe).join(', ');
  throw inspectFailed(`${path} has no operator with uid or id '${operator}'; it has ${known || 'none'}.`);
}

function describe(op: OperatorSnapshot): string {
  return op.uid === undefined ? op.operatorId : `uid '${op.uid}'`;
}

function inspectFailed(message: string): SluiceError {
  return new SluiceError('SLUICE_INSPECT_FAILED', message);
}

function shown(handle: StreamStateHandle): InspectedHandle {
  return handle.kind === 'inline'
    ? { bytes: stateSize(handle) }
    : { bytes: handle.size, file: handle.path, scope: handle.scope };
}

/** A keyed handle's blocks per key group (an incremental chain merged), read and verified. */
async function keyGroupBlocks(
  handle: KeyedStateHandle,
  pointer: string,
): Promise<{
  keySerializer: TypeSerializer<unknown>;
  groups: { keyGroup: number; blocks: SnapshotBlock[] }[];
}> {
  const snapshot = async (offsets: readonly number[], h: StreamStateHandle): Promise<KeyedStateSnapshot> => ({
    keyGroupRange: handle.keyGroupRange,
    offsets,
    data: await readFileState(h, pointer),
    stateNames: [],
  });
  const base = await snapshot(handle.offsets, handle.handle);
  const deltas = await Promise.all((handle.deltas ?? []).map((d) => snapshot(d.offsets, d.handle)));
  const header = readSnapshotHeader(base);
  for (const d of deltas) readSnapshotHeader(d, 'delta');
  const keySerializer = serializerOf(header.keySerializer, 'the key serializer');
  const groups = [];
  for (let kg = handle.keyGroupRange.start; kg <= handle.keyGroupRange.end; kg++)
    groups.push({
      keyGroup: kg,
      blocks:
        deltas.length === 0
          ? readKeyGroupBlocks(base, kg)
          : chainKeyGroupBlocks(base, deltas, kg, keySerializer),
    });
  return { keySerializer, groups };
}

/** The states of a keyed handle's blocks with their sizes, by name. */
function statesOf(read: { groups: { blocks: SnapshotBlock[] }[] }): InspectedState[] {
  const states = new Map<string, { kind: string; bytes: number }>();
  for (const { blocks } of read.groups)
    for (const block of blocks) {
      const name = block.kind === 'timers' ? `${block.name} (timers)` : block.name;
      const state = states.get(name) ?? { kind: block.kind, bytes: 0 };
      state.bytes += block.payload.length;
      states.set(name, state);
    }
  return [...states]
    .map(([name, s]) => ({ name, kind: s.kind, bytes: s.bytes }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The serializers a snapshot may name that work without the job: Sluice's own. */
function serializerOf(id: SerializerId | undefined, what: string): TypeSerializer<unknown> {
  if (id?.name === 'msgpack' && id.version === 1) return new MsgpackSerializer();
  if (id?.name === 'json' && id.version === 1) return new JsonSerializer();
  throw inspectFailed(
    `${what} is ${id === undefined ? 'missing' : `'${id.name}' v${id.version}`}, which only the job knows; ` +
      'sluice inspect decodes state written with the default (msgpack) or json serializers.',
  );
}

/** How a block's values are read: one value, a list, or a map, with the serializers it names. */
function valueReader(block: SnapshotBlock): (r: ByteReader) => unknown {
  const [first, second] = block.serializers;
  switch (block.kind) {
    case 'list': {
      const element = serializerOf(first, `the element serializer of '${block.name}'`);
      return (r) => Array.from({ length: r.u32() }, () => r.value(element));
    }
    case 'map': {
      const userKey = serializerOf(first, `the user key serializer of '${block.name}'`);
      const value = serializerOf(second, `the value serializer of '${block.name}'`);
      return (r) => {
        const map = new Map<unknown, unknown>();
        for (let n = r.u32(); n > 0; n--) map.set(r.value(userKey), r.value(value));
        return map;
      };
    }
    default: {
      const value = serializerOf(first, `the value serializer of '${block.name}'`);
      return (r) => r.value(value);
    }
  }
}

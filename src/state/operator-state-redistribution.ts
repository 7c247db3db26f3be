/** Redistributes operator list state to a new parallelism (Flink's RoundRobinOperatorStateRepartitioner). */
import { invariant } from '../core/errors.js';
import { corruptSnapshot } from './byte-io.js';
import {
  encodeListData,
  parseListData,
  type OperatorStateEntry,
  type OperatorStateMode,
  type OperatorStateSnapshot,
} from './operator-state-snapshot.js';
import { describeSerializers, sameSerializers, type SerializerId } from './serializer-id.js';

/** One state name gathered over every old subtask. */
interface GatheredState {
  readonly name: string;
  readonly mode: OperatorStateMode;
  readonly serializer: SerializerId;
  /** The elements of each old subtask, index = old subtask. */
  readonly perSubtask: Uint8Array[][];
}

/**
 * Assigns the operator state of the old subtasks (`old[i]`: the snapshots of old subtask i,
 * usually one) to `newParallelism` new subtasks; pure, and elements are moved as bytes.
 *
 * - UNION: every new subtask gets every element of every old subtask, in old-subtask order.
 * - BROADCAST: every new subtask gets the elements of one old subtask (subtask i of old subtask
 *   i mod the old parallelism, so an unchanged parallelism keeps its own): the copies are equal.
 * - SPLIT_DISTRIBUTE, parallelism unchanged: each subtask keeps its own elements (as Flink).
 * - SPLIT_DISTRIBUTE, parallelism changed: the elements of all old subtasks, concatenated in
 *   old-subtask order, are cut into `newParallelism` contiguous runs whose lengths differ by at
 *   most one. As in Flink, the longer runs start at a subtask that rotates from one state to the
 *   next, so that with many small states the extra elements do not all land on subtask 0.
 *
 * Every new subtask gets an entry for every state name, possibly with no elements. Throws
 * SLUICE_CHECKPOINT_CORRUPT if old subtasks disagree on a state's mode or serializer.
 */
export function redistributeOperatorState(
  old: readonly (readonly OperatorStateSnapshot[])[],
  newParallelism: number,
): OperatorStateSnapshot[] {
  invariant(
    Number.isInteger(newParallelism) && newParallelism >= 1,
    `the new parallelism is a positive integer (got ${newParallelism})`,
  );
  const gathered = gather(old);
  const result: OperatorStateEntry[][] = Array.from({ length: newParallelism }, () => []);
  let rotation = 0;
  for (const state of gathered.values()) {
    let assigned: readonly (readonly Uint8Array[])[];
    if (state.mode === 'UNION') {
      const all = state.perSubtask.flat();
      assigned = Array.from({ length: newParallelism }, () => all);
    } else if (state.mode === 'BROADCAST')
      assigned = Array.from({ length: newParallelism }, (_, i) => copyOf(state, i));
    else if (old.length === newParallelism) assigned = state.perSubtask;
    else {
      const all = state.perSubtask.flat();
      assigned = splitEvenly(all, newParallelism, rotation);
      rotation = (rotation + (all.length % newParallelism)) % newParallelism;
    }
    for (let i = 0; i < newParallelism; i++)
      result[i]!.push({
        name: state.name,
        mode: state.mode,
        data: encodeListData(state.serializer, assigned[i] ?? []),
      });
  }
  return result.map((states) => ({ states }));
}

/**
 * Broadcast state for new subtask `i`: old subtask i mod n's copy, or another old subtask's when
 * that one's was left out (at unchanged parallelism a subtask reads only its own handles).
 */
function copyOf(state: GatheredState, i: number): readonly Uint8Array[] {
  const n = state.perSubtask.length;
  const own = state.perSubtask[i % n]!;
  if (own.length > 0) return own;
  return state.perSubtask.find((elements) => elements.length > 0) ?? own;
}

/** Groups the old snapshots' elements by state name, checking that every subtask agrees. */
function gather(old: readonly (readonly OperatorStateSnapshot[])[]): Map<string, GatheredState> {
  const gathered = new Map<string, GatheredState>();
  old.forEach((snapshots, subtask) => {
    for (const snapshot of snapshots)
      for (const entry of snapshot.states) {
        const what = `operator state '${entry.name}' of old subtask ${subtask}`;
        const parsed = parseListData(entry.data, what);
        let state = gathered.get(entry.name);
        if (state === undefined) {
          state = {
            name: entry.name,
            mode: entry.mode,
            serializer: parsed.serializer,
            perSubtask: Array.from({ length: old.length }, () => []),
          };
          gathered.set(entry.name, state);
        } else if (state.mode !== entry.mode || !sameSerializers([state.serializer], [parsed.serializer]))
          throw corruptSnapshot(
            what,
            `it is ${entry.mode} state written with ${describeSerializers([parsed.serializer])}, while another ` +
              `subtask wrote it as ${state.mode} state with ${describeSerializers([state.serializer])}`,
          );
        const mine = state.perSubtask[subtask]!;
        for (const element of parsed.elements) mine.push(element);
      }
  });
  return gathered;
}

/**
 * Cuts `elements` into `parallelism` contiguous runs, the first `elements.length % parallelism`
 * of them one longer; run k goes to subtask (rotation + k) mod parallelism.
 */
function splitEvenly<T>(elements: readonly T[], parallelism: number, rotation: number): T[][] {
  const base = Math.floor(elements.length / parallelism);
  const remainder = elements.length % parallelism;
  const runs: T[][] = new Array<T[]>(parallelism);
  let next = 0;
  for (let k = 0; k < parallelism; k++) {
    const length = base + (k < remainder ? 1 : 0);
    runs[(rotation + k) % parallelism] = elements.slice(next, next + length);
    next += length;
  }
  return runs;
}

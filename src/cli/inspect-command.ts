/** `sluice inspect PATH [--json]` and `sluice inspect PATH --operator UID --state NAME`: a checkpoint or savepoint, for people and tools. */
import { SluiceError } from '../core/errors.js';
import {
  dumpKeyedState,
  inspectSnapshot,
  type InspectedHandle,
  type InspectedSnapshot,
} from '../coordinator/savepoint-inspector.js';

/** Options of `sluice inspect`. */
export interface InspectOptions {
  readonly json: boolean;
  readonly operator?: string;
  readonly state?: string;
}

/** Prints the snapshot at `path`, or with `operator` and `state` that keyed state as JSON lines. */
export async function inspect(
  path: string,
  options: InspectOptions,
  out: (s: string) => void,
): Promise<void> {
  if ((options.operator === undefined) !== (options.state === undefined))
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      '--operator and --state go together: sluice inspect PATH --operator UID --state NAME.',
    );
  if (options.operator !== undefined && options.state !== undefined) {
    await dumpKeyedState(path, options.operator, options.state, (entry) => out(jsonLine(entry)));
    return;
  }
  const snapshot = await inspectSnapshot(path);
  if (options.json) out(JSON.stringify(snapshot, null, 2));
  else for (const line of describeSnapshot(snapshot)) out(line);
}

/** The snapshot as readable lines. */
export function describeSnapshot(s: InspectedSnapshot): string[] {
  const time = (ms: number) => new Date(ms).toISOString();
  const lines = [
    `${s.type === 'SAVEPOINT' ? 'Savepoint' : 'Checkpoint'} ${s.id} of job ${s.jobId}`,
    `  path:      ${s.path}`,
    `  triggered: ${time(s.triggerTimestamp)}, completed: ${time(s.completionTimestamp)} (metadata format ${s.formatVersion})`,
  ];
  if (s.savepointFormat !== undefined)
    lines.push(
      `  format:    ${s.savepointFormat}${s.stateBackend === undefined ? '' : `, taken with the ${s.stateBackend} state backend`}`,
    );
  for (const m of s.masterStates) lines.push(`  coordinator state '${m.name}': ${handle(m.handle)}`);
  for (const op of s.operators) {
    lines.push(
      `Operator ${op.name === undefined ? '' : `'${op.name}' `}${op.uid === undefined ? '(no uid)' : `uid '${op.uid}'`} id ${op.operatorId}: ` +
        `parallelism ${op.parallelism}, max parallelism ${op.maxParallelism}`,
    );
    if (op.subtasks.length === 0) lines.push('  no state');
    for (const st of op.subtasks) {
      lines.push(`  subtask ${st.subtask}:`);
      for (const k of st.keyed) {
        lines.push(
          `    keyed, key groups ${k.keyGroups.start}-${k.keyGroups.end}: ${k.handles.map(handle).join(' + ')}`,
        );
        for (const state of k.states)
          lines.push(`      ${state.name} (${state.kind}): ${bytes(state.bytes)}`);
      }
      for (const o of st.operator)
        lines.push(`    operator state '${o.name}' (${o.mode}): ${handle(o.handle)}`);
    }
  }
  return lines;
}

function handle(h: InspectedHandle): string {
  return h.file === undefined ? `${bytes(h.bytes)} inline` : `${bytes(h.bytes)} in ${h.file}`;
}

function bytes(n: number): string {
  return n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** One entry as a JSON line: Maps as objects (or [key, value] pairs), bigints as strings, bytes as base64. */
export function jsonLine(entry: { readonly key: unknown; readonly value: unknown }): string {
  return JSON.stringify(entry, (_key, value: unknown) => {
    if (value instanceof Map) {
      const pairs = [...(value as Map<unknown, unknown>)];
      return pairs.every(([k]) => typeof k === 'string')
        ? (Object.fromEntries(pairs) as Record<string, unknown>)
        : pairs;
    }
    if (value instanceof Set) return [...(value as Set<unknown>)];
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    if (value === undefined) return null;
    return value;
  });
}

import { describe, expect, it } from 'vitest';
import type { OperatorEvent } from '../runtime/stream-operator.js';
import type { Source, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../api/source/source.js';
import { StaticSplitEnumerator } from '../api/source/static-split-enumerator.js';
import { SourceCoordinator } from './source-coordinator.js';

const split = (id: string): SourceSplit => ({ splitId: id });

/** A source of fixed splits whose enumerator records what comes back through addSplitsBack. */
function recordingSource(splits: readonly SourceSplit[]) {
  const returned: { splits: string[]; subtask: number }[] = [];
  const readers: number[] = [];
  const make = (ctx: SplitEnumeratorContext<SourceSplit>, pending: readonly SourceSplit[]) => {
    const inner = new StaticSplitEnumerator(ctx, pending);
    const enumerator: SplitEnumerator<SourceSplit, SourceSplit[]> = {
      start: () => inner.start(),
      handleSplitRequest: (s) => inner.handleSplitRequest(s),
      addSplitsBack: (back, subtask) => {
        returned.push({ splits: back.map((b) => b.splitId), subtask });
        inner.addSplitsBack(back);
      },
      addReader: (s) => readers.push(s),
      snapshotState: () => inner.snapshotState(),
      close: () => inner.close(),
    };
    return enumerator;
  };
  const source: Source<unknown, SourceSplit, SourceSplit[]> = {
    getBoundedness: () => 'BOUNDED',
    createEnumerator: (ctx) => make(ctx, splits),
    restoreEnumerator: (ctx, state) => make(ctx, state),
    createReader: () => {
      throw new Error('not used');
    },
  };
  return { source, returned, readers };
}

function coordinator(splits: readonly SourceSplit[]) {
  const sent: { subtask: number; event: OperatorEvent }[] = [];
  const recording = recordingSource(splits);
  const c = new SourceCoordinator(recording.source, 2, (subtask, event) => sent.push({ subtask, event }));
  c.start();
  const request = (subtask: number) => c.handleEventFromOperator(subtask, { kind: 'request-split' });
  return { c, sent, request, ...recording };
}

describe('SourceCoordinator split assignment tracking', () => {
  it('a reset reader gets back only the splits assigned after the checkpoint it restores', () => {
    const { c, request, returned } = coordinator(['a', 'b', 'c', 'd'].map(split));
    request(0); // a -> 0, covered by checkpoint 1
    c.snapshotState(1);
    request(0); // b -> 0, after checkpoint 1
    request(1); // c -> 1
    c.snapshotState(2);
    request(0); // d -> 0, after checkpoint 2
    c.subtaskReset(0, 1);
    expect(returned).toEqual([{ splits: ['b', 'd'], subtask: 0 }]);
    // Reader 1 is untouched; its split is not handed back.
    expect(c.registeredReaders()).toEqual([1]);
  });

  it('a completed checkpoint forgets what it covers, and a reset from nothing returns everything since', () => {
    const { c, request, returned, sent } = coordinator(['a', 'b', 'c'].map(split));
    request(0); // a
    c.snapshotState(1);
    request(0); // b
    c.snapshotState(2);
    c.notifyCheckpointComplete(2);
    request(0); // c
    c.subtaskReset(0, 2);
    expect(returned).toEqual([{ splits: ['c'], subtask: 0 }]);
    // The split that came back goes to the next reader that asks.
    request(1);
    expect(sent.at(-1)).toEqual({ subtask: 1, event: { kind: 'add-splits', splits: [split('c')] } });
    c.subtaskReset(1, undefined);
    expect(returned.at(-1)).toEqual({ splits: ['c'], subtask: 1 });
  });

  it('a reader that restarts is registered with the enumerator again', () => {
    const { c, readers } = coordinator([split('a')]);
    expect(readers).toEqual([0, 1]);
    c.subtaskReset(1, undefined);
    expect(c.registeredReaders()).toEqual([0]);
    c.addReader(1);
    expect(readers).toEqual([0, 1, 1]);
    expect(c.registeredReaders()).toEqual([0, 1]);
  });
});

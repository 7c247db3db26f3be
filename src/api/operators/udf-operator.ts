/** Base for operators that run one user function: copies it, opens and closes it. */
import { isRichFunction } from '../rich-functions.js';
import { cloneFunction } from './clone-function.js';
import { StreamingRuntimeContext } from './streaming-runtime-context.js';
import { AbstractStreamOperator } from './stream-operator.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { CheckpointedFunction, CheckpointListener } from '../checkpointed-function.js';

interface Hooks {
  open?: (ctx: RuntimeContext) => void;
  close?: () => void;
  initializeState?: CheckpointedFunction['initializeState'];
  snapshotState?: CheckpointedFunction['snapshotState'];
  notifyCheckpointComplete?: CheckpointListener['notifyCheckpointComplete'];
  notifyCheckpointAborted?: CheckpointListener['notifyCheckpointAborted'];
}

/** Holds this subtask's own copy of the user function and calls its open/close hooks. */
export abstract class UdfOperator<IN, OUT, FN> extends AbstractStreamOperator<IN, OUT> {
  protected readonly userFunction: FN;
  protected runtimeContext!: RuntimeContext;

  constructor(userFunction: FN) {
    super();
    this.userFunction = cloneFunction(userFunction);
  }

  /** Calls the function's `initializeState` (CheckpointedFunction), before `open`. */
  override initializeState(restored: boolean): void {
    const fn = this.userFunction as Hooks;
    if (typeof fn.initializeState !== 'function') return;
    const backend = this.info.operatorStateBackend;
    try {
      fn.initializeState({
        isRestored: () => restored,
        getOperatorStateStore: () => ({
          getListState: (d) => backend.getListState(d),
          getUnionListState: (d) => backend.getUnionListState(d),
        }),
      });
    } catch (e) {
      throw this.userError(e, 'initializeState');
    }
  }

  override snapshotState(checkpointId: number): void {
    const fn = this.userFunction as Hooks;
    if (typeof fn.snapshotState !== 'function') return;
    try {
      fn.snapshotState({ getCheckpointId: () => checkpointId });
    } catch (e) {
      throw this.userError(e, 'snapshotState');
    }
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    const fn = this.userFunction as Hooks;
    if (typeof fn.notifyCheckpointComplete !== 'function') return;
    try {
      fn.notifyCheckpointComplete(checkpointId);
    } catch (e) {
      throw this.userError(e, 'notifyCheckpointComplete');
    }
  }

  override notifyCheckpointAborted(checkpointId: number): void {
    const fn = this.userFunction as Hooks;
    if (typeof fn.notifyCheckpointAborted !== 'function') return;
    try {
      fn.notifyCheckpointAborted(checkpointId);
    } catch (e) {
      throw this.userError(e, 'notifyCheckpointAborted');
    }
  }

  override open(): void {
    this.runtimeContext = new StreamingRuntimeContext(this.info);
    if (isRichFunction(this.userFunction)) this.userFunction.setRuntimeContext(this.runtimeContext);
    const fn = this.userFunction as Hooks;
    // The context is Flink 2.x's OpenContext too: open(openContext) and open(ctx: RuntimeContext) both get it.
    if (typeof fn.open === 'function') {
      try {
        fn.open(this.runtimeContext);
      } catch (e) {
        throw this.userError(e, 'open');
      }
    }
  }

  override close(): void {
    const fn = this.userFunction as Hooks;
    if (typeof fn.close === 'function') {
      try {
        fn.close();
      } catch (e) {
        throw this.userError(e, 'close');
      }
    }
  }
}

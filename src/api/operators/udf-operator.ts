/** Base for operators that run one user function: copies it, opens and closes it. */
import { cloneFunction } from './clone-function.js';
import { StreamingRuntimeContext } from './streaming-runtime-context.js';
import { AbstractStreamOperator } from './stream-operator.js';
import type { RuntimeContext } from '../runtime-context.js';

interface Hooks {
  open?: (ctx: RuntimeContext) => void;
  close?: () => void;
}

/** Holds this subtask's own copy of the user function and calls its open/close hooks. */
export abstract class UdfOperator<IN, OUT, FN> extends AbstractStreamOperator<IN, OUT> {
  protected readonly userFunction: FN;
  protected runtimeContext!: RuntimeContext;

  constructor(userFunction: FN) {
    super();
    this.userFunction = cloneFunction(userFunction);
  }

  override open(): void {
    this.runtimeContext = new StreamingRuntimeContext(this.info);
    const fn = this.userFunction as Hooks;
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

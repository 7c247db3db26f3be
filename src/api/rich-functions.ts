/**
 * Flink's rich functions: base classes whose instances reach their RuntimeContext through
 * `getRuntimeContext()` from `open` on. `open` and `close` are not declared here, so a subclass
 * defines them without `override` — `open(openContext: OpenContext)` (Flink 2.x) and
 * `open(ctx: RuntimeContext)` both work, since the context is also what `open` receives.
 */
import { invalidProgram } from '../core/errors.js';
import type { Collector } from './functions.js';
import type { RuntimeContext } from './runtime-context.js';

// A symbol, so the slot never clashes with a field of the user's subclass.
const RUNTIME_CONTEXT = Symbol('sluice.runtimeContext');

/** Base of the rich functions (Flink's AbstractRichFunction). */
export abstract class AbstractRichFunction {
  private [RUNTIME_CONTEXT]: RuntimeContext | undefined;

  /** Called by the operator running this function (each subtask runs its own copy) before `open`. */
  setRuntimeContext(ctx: RuntimeContext): void {
    this[RUNTIME_CONTEXT] = ctx;
  }

  /** The context of the subtask this copy of the function runs in; available from `open` on. */
  getRuntimeContext(): RuntimeContext {
    const ctx = this[RUNTIME_CONTEXT];
    if (ctx === undefined)
      throw invalidProgram(
        'The runtime context has not been initialized: call getRuntimeContext() in open() or later, ' +
          'not in the constructor or a field initializer (each subtask runs its own copy of the function).',
      );
    return ctx;
  }
}

/** Whether `fn` takes its RuntimeContext through `setRuntimeContext` (a rich function). */
export function isRichFunction(fn: unknown): fn is Pick<AbstractRichFunction, 'setRuntimeContext'> {
  return (
    fn !== null &&
    typeof fn === 'object' &&
    typeof (fn as Partial<AbstractRichFunction>).setRuntimeContext === 'function'
  );
}

/** A map function with a RuntimeContext (Flink's RichMapFunction). */
export abstract class RichMapFunction<IN, OUT> extends AbstractRichFunction {
  abstract map(value: IN): OUT;
}

/** A flatMap function with a RuntimeContext (Flink's RichFlatMapFunction). */
export abstract class RichFlatMapFunction<IN, OUT> extends AbstractRichFunction {
  abstract flatMap(value: IN, out: Collector<OUT>): void;
}

/** A filter function with a RuntimeContext (Flink's RichFilterFunction). */
export abstract class RichFilterFunction<T> extends AbstractRichFunction {
  abstract filter(value: T): boolean;
}

/** A reduce function with a RuntimeContext (Flink's RichReduceFunction), for `KeyedStream.reduce`. */
export abstract class RichReduceFunction<T> extends AbstractRichFunction {
  abstract reduce(a: T, b: T): T;
}

/** Gives a nested user function (one an internal function runs) its context and calls its `open`. */
export function openNestedFunction(fn: unknown, ctx: RuntimeContext): void {
  if (isRichFunction(fn)) fn.setRuntimeContext(ctx);
  const open = (fn as { open?: (ctx: RuntimeContext) => void } | null)?.open;
  if (typeof open === 'function') open.call(fn, ctx);
}

/** Calls a nested user function's `close`, if it has one. */
export function closeNestedFunction(fn: unknown): void {
  const close = (fn as { close?: () => void } | null)?.close;
  if (typeof close === 'function') close.call(fn);
}

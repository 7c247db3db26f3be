/** Fluent settings of an operator or sink: name, uid, parallelism, chaining (shared checks). */
import { invalidProgram } from '../core/errors.js';
import type { Transformation } from '../graph/transformation.js';
import type { OperatorFactory } from './operators/stream-operator.js';

type T = Transformation<OperatorFactory>;

/** Throws unless `value` is a positive integer. */
export function checkPositiveInt(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw invalidProgram(`${what} must be a positive integer, got ${String(value)}.`);
}

/** The settings both handles offer, applied to a transformation. */
export const Settings = {
  name(t: T, name: string): void {
    if (typeof name !== 'string' || name.length === 0)
      throw invalidProgram('name() needs a non-empty string.');
    t.name = name;
  },
  uid(t: T, uid: string): void {
    if (typeof uid !== 'string' || uid.length === 0) throw invalidProgram('uid() needs a non-empty string.');
    t.uid = uid;
  },
  description(t: T, description: string): void {
    if (typeof description !== 'string' || description.length === 0)
      throw invalidProgram(`setDescription() of '${t.name}' needs a non-empty string.`);
    t.description = description;
  },
  parallelism(t: T, parallelism: number): void {
    checkPositiveInt(`setParallelism() of '${t.name}'`, parallelism);
    if (t.nonParallel && parallelism !== 1)
      throw invalidProgram(
        `'${t.name}' cannot run in parallel; its parallelism must be 1, got ${parallelism}.`,
      );
    t.parallelism = parallelism;
  },
  maxParallelism(t: T, maxParallelism: number): void {
    checkPositiveInt(`setMaxParallelism() of '${t.name}'`, maxParallelism);
    t.maxParallelism = maxParallelism;
  },
};

/** The handle of a sink just added (Flink's DataStreamSink): name it, give it a uid, set its parallelism. */
export class DataStreamSink<R> {
  /** Type of the records this sink receives (compile-time only). */
  declare readonly __recordType?: R;

  /** @internal */
  constructor(/** @internal */ readonly transformation: T) {}

  /** The sink's name in plans, logs, metrics and errors. */
  name(name: string): this {
    Settings.name(this.transformation, name);
    return this;
  }
  /** A stable id for the sink's state in checkpoints and savepoints. */
  uid(uid: string): this {
    Settings.uid(this.transformation, uid);
    return this;
  }
  setParallelism(parallelism: number): this {
    Settings.parallelism(this.transformation, parallelism);
    return this;
  }
  /** A longer description of the sink for plans and the web UI. */
  setDescription(description: string): this {
    Settings.description(this.transformation, description);
    return this;
  }
  /** Runs the sink in a task of its own. */
  disableChaining(): this {
    this.transformation.chainingStrategy = 'never';
    return this;
  }
}

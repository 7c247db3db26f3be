/** DataStreamSource: the handle `fromSource`, `fromSequence` and `fromData` return (Flink's). */
import { invalidProgram } from '../core/errors.js';
import { SingleOutputStreamOperator } from './datastream.js';

/**
 * The stream of a source and the source's operator settings: `uid()` (the id its split
 * positions are stored under in checkpoints and savepoints, as for any stateful operator),
 * `name()`, `setParallelism()`, `setMaxParallelism()`, `setDescription()`.
 */
export class DataStreamSource<T> extends SingleOutputStreamOperator<T> {
  /** Whether the source reads in parallel (a collection source does not). */
  isParallel(): boolean {
    return !this.transformation.nonParallel;
  }

  override setParallelism(parallelism: number): this {
    if (this.transformation.nonParallel && parallelism !== 1)
      throw invalidProgram(
        `setParallelism(${String(parallelism)}) of source '${this.transformation.name}': this source is not ` +
          'parallel (fromData, fromElements and fromCollection read their elements in one subtask); its ' +
          'parallelism must be 1. Use fromSequence or a parallel Source to read in parallel.',
      );
    return super.setParallelism(parallelism);
  }
}

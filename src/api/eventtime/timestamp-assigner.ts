/** TimestampAssigner: extracts an event's timestamp (Flink's TimestampAssigner / SerializableTimestampAssigner). */
import { SluiceError } from '../../core/errors.js';

/** Gives each event its event timestamp in ms; `recordTimestamp` is the one the source gave, or MIN_WATERMARK. */
export interface TimestampAssigner<T> {
  extractTimestamp(element: T, recordTimestamp: number): number;
}

/** What `withTimestampAssigner` takes: a function (Flink's lambda form) or an object with `extractTimestamp`. */
export type TimestampAssignerLike<T> =
  ((element: T, recordTimestamp: number) => number) | TimestampAssigner<T>;

/** `assigner` as a function bound to its object. */
export function timestampAssignerFn<T>(
  assigner: TimestampAssignerLike<T>,
): (element: T, recordTimestamp: number) => number {
  if (typeof assigner === 'function') return assigner;
  if (assigner && typeof assigner.extractTimestamp === 'function')
    return assigner.extractTimestamp.bind(assigner);
  throw new SluiceError(
    'SLUICE_PROGRAM_INVALID',
    'withTimestampAssigner() takes (event, recordTimestamp) => number or an object with extractTimestamp(event, recordTimestamp).',
  );
}

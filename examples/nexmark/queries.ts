/** The Nexmark queries by name, each a function from the event stream to its result stream. */
import type { CollectResult, DataStream, NexmarkEvent } from 'sluice';
import { q0 } from './q0.js';
import { q1 } from './q1.js';
import { q2 } from './q2.js';
import { q3 } from './q3.js';
import { q4 } from './q4.js';
import { q5 } from './q5.js';
import { q7 } from './q7.js';
import { q8 } from './q8.js';
import { q11 } from './q11.js';
import { q12 } from './q12.js';

/** What the runners do with a query's result stream, whatever its row type. */
export interface QueryStream {
  print(): unknown;
  addSink(fn: () => void): unknown;
  collectAsync(): CollectResult<unknown>;
}

/** A query: builds its pipeline on the Nexmark event stream. */
export type NexmarkQuery = (events: DataStream<NexmarkEvent>) => QueryStream;

/** Every query Sluice runs (q6 is not supported by Flink either; q9, q10 and q13+ are not ported yet). */
export const QUERIES = {
  q0,
  q1,
  q2,
  q3,
  q4,
  q5,
  q7,
  q8,
  q11,
  q12: (events) => q12(events),
} as const satisfies Record<string, NexmarkQuery>;

/** One of the query names. */
export type QueryName = keyof typeof QUERIES;

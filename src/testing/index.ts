/** sluice/testing: Flink-style test harnesses that run a user function's real operator, state and checkpoints without a job. */
export { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';
export { AbstractStreamOperatorTestHarness } from './abstract-stream-operator-test-harness.js';
export type { TestHarnessOptions } from './test-harness-options.js';
export { OneInputStreamOperatorTestHarness } from './one-input-stream-operator-test-harness.js';
export { KeyedOneInputStreamOperatorTestHarness } from './keyed-one-input-stream-operator-test-harness.js';
export { OperatorSubtaskState } from './operator-subtask-state.js';
export { StreamRecord } from './stream-record.js';
export { Watermark } from '../api/eventtime/watermark.js';

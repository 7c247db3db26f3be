// The response validator of the REST tests catches what it must (wrong types, missing, undeclared and null fields, bad enums, unknown classNames), so a passing shape test means something.
import { describe, expect, it } from 'vitest';
import { componentSchema, responseSchema, validate } from './support/openapi.js';

const summary = { min: 0, max: 0, avg: 0, p50: 'NaN', p90: 'NaN', p95: 'NaN', p99: 'NaN', p999: 'NaN' };
const pending = {
  className: 'in_progress',
  id: 3,
  status: 'IN_PROGRESS',
  is_savepoint: false,
  savepointFormat: null,
  trigger_timestamp: 1,
  latest_ack_timestamp: -1,
  checkpointed_size: 0,
  state_size: 0,
  end_to_end_duration: -1,
  alignment_buffered: 0,
  processed_data: 0,
  persisted_data: 0,
  num_subtasks: 2,
  num_acknowledged_subtasks: 0,
  checkpoint_type: 'CHECKPOINT',
  tasks: {},
};

describe('the OpenAPI response validator', () => {
  it('accepts a correct value', () => {
    expect(validate(componentSchema('StatsSummaryDto'), summary)).toEqual([]);
    expect(validate(componentSchema('CheckpointStatistics'), pending)).toEqual([]);
    expect(
      validate(responseSchema('/jobs', 'GET'), { jobs: [{ id: 'a'.repeat(32), status: 'RUNNING' }] }),
    ).toEqual([]);
  });

  it('reports wrong types, missing and undeclared fields', () => {
    expect(validate(componentSchema('StatsSummaryDto'), { ...summary, min: '0' })).toEqual([
      '$.min: expected an integer, got "0"',
    ]);
    const { p999: _dropped, ...missing } = summary;
    expect(validate(componentSchema('StatsSummaryDto'), missing)).toEqual(['$: missing p999']);
    expect(validate(componentSchema('StatsSummaryDto'), { ...summary, p75: 1 })).toEqual([
      '$: undeclared field p75',
    ]);
  });

  it('reports nulls where Flink writes none, bad enums and patterns', () => {
    expect(
      validate(componentSchema('CheckpointStatistics'), { ...pending, trigger_timestamp: null }),
    ).toEqual(['$.trigger_timestamp: is null']);
    expect(validate(componentSchema('CheckpointStatistics'), { ...pending, status: 'DONE' })).toEqual([
      '$.status: "DONE" is not one of ["IN_PROGRESS","COMPLETED","FAILED"]',
    ]);
    expect(validate(responseSchema('/jobs', 'GET'), { jobs: [{ id: 'xyz', status: 'RUNNING' }] })).toEqual([
      '$.jobs[0].id: "xyz" does not match [0-9a-f]{32}',
    ]);
  });

  it('dispatches on className, and checks the fields of the subtype', () => {
    expect(validate(componentSchema('CheckpointStatistics'), { ...pending, className: 'done' })).toEqual([
      '$: className "done" is not one of completed, failed, in_progress',
    ]);
    const completed = { ...pending, className: 'completed', status: 'COMPLETED' };
    expect(validate(componentSchema('CheckpointStatistics'), completed)).toEqual([
      '$: missing external_path',
      '$: missing discarded',
    ]);
  });

  it('uses the corrected shapes where Flink differs from its OpenAPI file', () => {
    expect(validate(componentSchema('ProcessingMode'), 'exactly_once')).toEqual([]);
    expect(validate(componentSchema('ProcessingMode'), 'EXACTLY_ONCE')).not.toEqual([]);
    const throwable = { class: 'E', 'stack-trace': 'E: x', 'serialized-throwable': 'RTogeA==' };
    expect(validate(componentSchema('SerializedThrowable'), throwable)).toEqual([]);
  });
});

/** The plain-data payloads inside control messages: deploy payloads, subtask state and accumulators survive MessagePack and are checked field by field. */
import { describe, expect, it } from 'vitest';
import { Counter, ListAccumulator, mergeAccumulators } from '../api/accumulators.js';
import { type Accumulator } from '../core/accumulator.js';
import type { OperatorId } from '../core/ids.js';
import { MsgpackSerializer } from '../core/serializer.js';
import type { OperatorSubtaskState } from '../runtime/checkpoint-gateway.js';
import {
  checkAccumulators,
  checkSubtaskState,
  decodeAccumulators,
  decodeDeployPayload,
  encodeAccumulators,
  encodeDeployPayload,
  type DeployPayload,
} from './deploy-payload.js';
import { RpcProtocolError } from './rpc/index.js';

const OP_SOURCE = '00000000000000000000000000000001' as OperatorId;
const OP_COUNT = 'abcdef0123456789abcdef0123456789' as OperatorId;

/** Through MessagePack as the control plane carries it (rpc-envelope.ts uses the same serializer). */
function wireRoundTrip(value: unknown): unknown {
  const serializer = new MsgpackSerializer<unknown>();
  const bytes = new Uint8Array(serializer.serialize(value));
  return serializer.deserialize(bytes, 0, bytes.length);
}

function samplePayload(): DeployPayload {
  return {
    jobIndex: 1,
    args: ['--input', 'clicks.csv'],
    configuration: { 'parallelism.default': '2', 'execution.checkpointing.interval': '1 s' },
    parallelism: 2,
    globalJobParameters: { input: 'clicks.csv', startedAt: '1700000000000' },
    runtimeMode: 'BATCH',
    vertexIds: ['11111111111111111111111111111111', '22222222222222222222222222222222'],
    endpoints: [
      { taskManagerId: 'tm-a', host: '127.0.0.1', port: 6121 },
      { taskManagerId: 'tm-b', host: '10.0.0.2', port: 6122 },
    ],
    placement: [
      [0, 1],
      [1, 0],
    ],
    self: 1,
    restore: [
      {
        vertexIndex: 1,
        subtask: 0,
        state: {
          checkpointId: 7,
          pointer: '/var/sluice/checkpoints/job/chk-7',
          operators: new Map([
            [
              OP_COUNT,
              {
                keyed: [
                  {
                    keyGroupRange: { start: 0, end: 2 },
                    offsets: [0, 2, 5],
                    handle: {
                      kind: 'file',
                      path: 'a1b2-uuid',
                      size: 700_000,
                      checksum: 1234,
                      scope: 'exclusive',
                    },
                  },
                  {
                    keyGroupRange: { start: 3, end: 3 },
                    offsets: [0],
                    handle: { kind: 'inline', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7]) },
                  },
                ],
                operator: [
                  [
                    {
                      name: 'pending',
                      mode: 'UNION',
                      handle: { kind: 'inline', data: new Uint8Array([9, 8, 7]) },
                    },
                  ],
                  [],
                ],
              },
            ],
            [OP_SOURCE, { keyed: [], operator: undefined }],
          ]),
        },
      },
      {
        vertexIndex: 0,
        subtask: 1,
        state: {
          checkpointId: 7,
          pointer: '/var/sluice/checkpoints/job/chk-7',
          operators: new Map([
            [
              OP_SOURCE,
              {
                keyed: [],
                operator: [
                  [],
                  [
                    {
                      name: 'splits',
                      mode: 'SPLIT_DISTRIBUTE',
                      handle: { kind: 'inline', data: new Uint8Array([0, 255]) },
                    },
                  ],
                ],
              },
            ],
          ]),
        },
      },
    ],
  };
}

/** The wire form of the sample payload, through MessagePack, as a mutable tree to break. */
function sampleWire(): Record<string, unknown> {
  return wireRoundTrip(encodeDeployPayload(samplePayload())) as Record<string, unknown>;
}

/** The RpcProtocolError `fn` throws. */
function protocolError(fn: () => unknown): RpcProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RpcProtocolError);
    return e as RpcProtocolError;
  }
  throw new Error('expected an RpcProtocolError');
}

/** Sets the value at `path` (keys and indexes) in `tree`. */
function setAt(tree: unknown, path: readonly (string | number)[], value: unknown): void {
  let node = tree as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
}

describe('deploy payload', () => {
  it('survives encode → MessagePack → decode unchanged: file handles, inline bytes, the checkpoint pointer', () => {
    const payload = samplePayload();
    const decoded = decodeDeployPayload(wireRoundTrip(encodeDeployPayload(payload)));
    expect(decoded).toEqual(payload);

    const restore = decoded.restore[0]!.state;
    expect(restore.pointer).toBe('/var/sluice/checkpoints/job/chk-7');
    expect(restore.operators).toBeInstanceOf(Map);
    expect([...restore.operators.keys()]).toEqual([OP_COUNT, OP_SOURCE]);
    const count = restore.operators.get(OP_COUNT)!;
    // A file travels as its handle only: the task reads the bytes.
    expect(count.keyed[0]!.handle).toEqual({
      kind: 'file',
      path: 'a1b2-uuid',
      size: 700_000,
      checksum: 1234,
      scope: 'exclusive',
    });
    const inline = count.keyed[1]!.handle;
    expect(inline.kind === 'inline' && [...inline.data]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(count.operator?.map((old) => old.map((o) => o.name))).toEqual([['pending'], []]);
    expect(restore.operators.get(OP_SOURCE)!.operator).toBeUndefined();
    expect(decoded.restore[1]!.state.operators.get(OP_SOURCE)!.operator![1]![0]!.mode).toBe(
      'SPLIT_DISTRIBUTE',
    );
  });

  it('carries no state bytes for file state: its size is that of the handles', () => {
    const serializer = new MsgpackSerializer<unknown>();
    const size = serializer.serialize(encodeDeployPayload(samplePayload())).length;
    expect(size).toBeLessThan(2048);
  });

  it('encodes to plain data: the restore maps become lists and an absent operator state stays absent', () => {
    const wire = encodeDeployPayload(samplePayload()) as {
      restore: { checkpointId: number; operators: Record<string, unknown>[] }[];
    };
    expect(wire.restore[0]!.checkpointId).toBe(7);
    expect(Array.isArray(wire.restore[0]!.operators)).toBe(true);
    expect(wire.restore[0]!.operators.map((op) => op['operatorId'])).toEqual([OP_COUNT, OP_SOURCE]);
    expect(Object.keys(wire.restore[0]!.operators[1]!)).toEqual(['operatorId', 'keyed']);
  });

  it('round-trips a payload without parallelism and without restore state', () => {
    const payload: DeployPayload = {
      jobIndex: 0,
      args: [],
      configuration: {},
      vertexIds: ['v'],
      endpoints: [{ taskManagerId: 'tm', host: 'localhost', port: 1 }],
      placement: [[0]],
      self: 0,
      restore: [],
    };
    const decoded = decodeDeployPayload(wireRoundTrip(encodeDeployPayload(payload)));
    expect(decoded).toEqual(payload);
    expect('parallelism' in decoded).toBe(false);
  });

  it('drops fields it does not declare', () => {
    const wire = sampleWire();
    wire['extra'] = 'ignored';
    expect('extra' in decodeDeployPayload(wire)).toBe(false);
  });

  it.each<[string, readonly (string | number)[], unknown, string]>([
    ['a payload that is no object', [], null, 'payload'],
    ['a negative jobIndex', ['jobIndex'], -1, 'payload.jobIndex'],
    ['args that are no list', ['args'], 'a b', 'payload.args'],
    ['a non-string argument', ['args', 1], 3, 'payload.args[1]'],
    [
      'a non-string configuration value',
      ['configuration', 'parallelism.default'],
      2,
      'payload.configuration.parallelism.default',
    ],
    ['a zero parallelism', ['parallelism'], 0, 'payload.parallelism'],
    [
      'a non-string global job parameter',
      ['globalJobParameters', 'startedAt'],
      1_700_000_000_000,
      'payload.globalJobParameters.startedAt',
    ],
    ['an unknown runtime mode', ['runtimeMode'], 'AUTOMATIC', 'payload.runtimeMode'],
    ['an empty vertex id', ['vertexIds', 0], '', 'payload.vertexIds[0]'],
    ['an endpoint port out of range', ['endpoints', 1, 'port'], 70_000, 'payload.endpoints[1].port'],
    ['an endpoint without host', ['endpoints', 0, 'host'], undefined, 'payload.endpoints[0].host'],
    ['a negative placement index', ['placement', 1, 0], -1, 'payload.placement[1][0]'],
    ['a fractional self', ['self'], 0.5, 'payload.self'],
    ['a zero checkpoint id', ['restore', 0, 'checkpointId'], 0, 'payload.restore[0].checkpointId'],
    [
      'a bad operator id',
      ['restore', 0, 'operators', 1, 'operatorId'],
      'not-an-operator-id',
      'payload.restore[0].operators[1].operatorId',
    ],
    [
      'inline keyed state that is no bytes',
      ['restore', 0, 'operators', 0, 'keyed', 1, 'handle', 'data'],
      [1, 2, 3],
      'payload.restore[0].operators[0].keyed[1].handle.data',
    ],
    [
      'a file handle with a negative size',
      ['restore', 0, 'operators', 0, 'keyed', 0, 'handle', 'size'],
      -1,
      'payload.restore[0].operators[0].keyed[0].handle.size',
    ],
    ['a checkpoint pointer that is no string', ['restore', 0, 'pointer'], 7, 'payload.restore[0].pointer'],
    [
      'a key group range ending below -1',
      ['restore', 0, 'operators', 0, 'keyed', 0, 'keyGroupRange', 'end'],
      -2,
      'payload.restore[0].operators[0].keyed[0].keyGroupRange.end',
    ],
    [
      'an unknown operator state mode',
      ['restore', 0, 'operators', 0, 'operator', 0, 0, 'mode'],
      'SCATTER',
      'payload.restore[0].operators[0].operator[0][0].mode',
    ],
  ])('rejects %s, naming the field', (_what, path, value, named) => {
    const wire = path.length === 0 ? value : sampleWire();
    if (path.length > 0) setAt(wire, path, value);
    const error = protocolError(() => decodeDeployPayload(wire));
    expect(error.code).toBe('SLUICE_RPC_BAD_MESSAGE');
    expect(error.path).toBe(named);
    expect(error.message).toContain(named);
  });

  it('rejects a placement index past the endpoints, naming payload.placement[v][s]', () => {
    const wire = sampleWire();
    setAt(wire, ['placement', 0, 1], 2);
    const error = protocolError(() => decodeDeployPayload(wire));
    expect(error.path).toBe('payload.placement[0][1]');
    expect(error.message).toContain('payload.placement[0][1] should be an index into endpoints, got 2');
  });

  it('carries the subtasks of a partial deployment, and rejects one not placed on the receiver', () => {
    const partial = { ...samplePayload(), only: [{ vertexIndex: 1, subtask: 0 }] };
    expect(decodeDeployPayload(encodeDeployPayload(partial)).only).toEqual([{ vertexIndex: 1, subtask: 0 }]);
    const wire = encodeDeployPayload({ ...partial, only: [{ vertexIndex: 0, subtask: 0 }] });
    const error = protocolError(() => decodeDeployPayload(wire));
    expect(error.path).toBe('payload.only[0]');
    expect(error.message).toContain('should be a subtask placed on this TaskManager');
  });

  it('rejects a self index past the endpoints', () => {
    const wire = sampleWire();
    wire['self'] = 2;
    const error = protocolError(() => decodeDeployPayload(wire));
    expect(error.path).toBe('payload.self');
    expect(error.message).toContain('payload.self should be an index into endpoints, got 2');
  });
});

describe('checkSubtaskState', () => {
  const state: OperatorSubtaskState[] = [
    {
      operatorId: OP_COUNT,
      keyed: [
        {
          keyGroupRange: { start: 0, end: 1 },
          offsets: [0, 4],
          handle: { kind: 'inline', data: new Uint8Array([1, 2, 3, 4, 5]) },
        },
      ],
      operator: [
        {
          name: 'pending',
          mode: 'BROADCAST',
          handle: {
            kind: 'file',
            path: 'chk-3/op-pending',
            size: 1024,
            checksum: 3_141_592,
            scope: 'exclusive',
          },
        },
      ],
    },
    { operatorId: OP_SOURCE, keyed: [], operator: [] },
  ];

  it('accepts inline and file handles as they travel', () => {
    expect(checkSubtaskState(wireRoundTrip(state), 'state')).toEqual(state);
  });

  it('rejects a handle of an unknown kind, naming its path', () => {
    const wire = wireRoundTrip(state);
    setAt(wire, [0, 'keyed', 0, 'handle', 'kind'], 's3');
    const error = protocolError(() => checkSubtaskState(wire, 'state'));
    expect(error.path).toBe('state[0].keyed[0].handle.kind');
    expect(error.message).toContain("state[0].keyed[0].handle.kind should be 'inline' or 'file'");
  });

  it.each<[string, readonly (string | number)[], unknown, string]>([
    [
      'inline data that is no bytes',
      [0, 'keyed', 0, 'handle', 'data'],
      'AQID',
      'state[0].keyed[0].handle.data',
    ],
    [
      'a file handle without scope',
      [0, 'operator', 0, 'handle', 'scope'],
      undefined,
      'state[0].operator[0].handle.scope',
    ],
    ['a negative file size', [0, 'operator', 0, 'handle', 'size'], -1, 'state[0].operator[0].handle.size'],
    ['a bad operator id', [1, 'operatorId'], 'op', 'state[1].operatorId'],
  ])('rejects %s', (_what, path, value, named) => {
    const wire = wireRoundTrip(state);
    setAt(wire, path, value);
    expect(protocolError(() => checkSubtaskState(wire, 'state')).path).toBe(named);
  });
});

/** A user-defined accumulator (not a Counter subclass): it travels as a plain value. */
class Total implements Accumulator<number, number> {
  private value = 0;
  add(value: number): void {
    this.value += value;
  }
  getLocalValue(): number {
    return this.value;
  }
  resetLocal(): void {
    this.value = 0;
  }
  merge(other: Accumulator<number, number>): void {
    this.value += other.getLocalValue();
  }
  clone(): Total {
    const t = new Total();
    t.value = this.value;
    return t;
  }
}

function subtaskAccumulators(count: number, items: string[], total: number) {
  const counter = new Counter();
  counter.add(count);
  const list = new ListAccumulator<string>();
  for (const item of items) list.add(item);
  const custom = new Total();
  custom.add(total);
  return new Map<string, Accumulator<unknown, unknown>>([
    ['records', counter],
    ['seen', list],
    ['total', custom],
  ]);
}

describe('accumulators', () => {
  it('encode with their kind: counters and lists as such, custom accumulators as values', () => {
    expect(encodeAccumulators(subtaskAccumulators(3, ['a', 'b'], 10))).toEqual([
      { name: 'records', kind: 'counter', value: 3 },
      { name: 'seen', kind: 'list', value: ['a', 'b'] },
      { name: 'total', kind: 'value', value: 10 },
    ]);
  });

  it('merge after the trip: counters sum, lists concatenate, custom numbers sum', () => {
    const received = [subtaskAccumulators(3, ['a', 'b'], 10), subtaskAccumulators(4, ['c'], 5)].map((r) =>
      decodeAccumulators(checkAccumulators(wireRoundTrip(encodeAccumulators(r)), 'accumulators')),
    );
    expect(received[0]!.get('records')).toBeInstanceOf(Counter);
    expect(received[0]!.get('seen')).toBeInstanceOf(ListAccumulator);
    expect(mergeAccumulators(received)).toEqual({ records: 7, seen: ['a', 'b', 'c'], total: 15 });
    // Merging works on copies: the decoded registries are unchanged.
    expect(received[0]!.get('records')!.getLocalValue()).toBe(3);
    expect(received[0]!.get('seen')!.getLocalValue()).toEqual(['a', 'b']);
  });

  it('merge custom values by shape: arrays concatenate, anything else keeps the last', () => {
    const decoded = [
      [
        { name: 'ids', kind: 'value', value: [1, 2] },
        { name: 'last', kind: 'value', value: { at: 1 } },
      ],
      [
        { name: 'ids', kind: 'value', value: [3] },
        { name: 'last', kind: 'value', value: { at: 2 } },
      ],
    ].map((wire) => decodeAccumulators(checkAccumulators(wireRoundTrip(wire), 'accumulators')));
    expect(mergeAccumulators(decoded)).toEqual({ ids: [1, 2, 3], last: { at: 2 } });
    // The first registry's array was cloned before the merge, not appended to.
    expect(decoded[0]!.get('ids')!.getLocalValue()).toEqual([1, 2]);
  });

  it('rejects accumulators of an unknown kind or without a name, naming the field', () => {
    expect(
      protocolError(() => checkAccumulators([{ name: 'x', kind: 'histogram', value: 1 }], 'accumulators'))
        .path,
    ).toBe('accumulators[0].kind');
    expect(protocolError(() => checkAccumulators([{ kind: 'counter', value: 1 }], 'accumulators')).path).toBe(
      'accumulators[0].name',
    );
    expect(protocolError(() => checkAccumulators({}, 'accumulators')).path).toBe('accumulators');
  });
});

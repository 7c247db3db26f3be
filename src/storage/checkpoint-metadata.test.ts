/** Round trips `_metadata` documents and checks that every kind of damage is detected and explained. */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId, JobId, OperatorId } from '../core/ids.js';
import {
  METADATA_FORMAT_VERSION,
  decodeMetadata,
  encodeMetadata,
  type CheckpointMetadata,
  type OperatorSnapshot,
} from './checkpoint-metadata.js';
import { crc32c } from './crc32c.js';
import { STATE_SCOPES, OPERATOR_STATE_MODES, stateSize, type StreamStateHandle } from './state-handle.js';

const WHERE = '/ckpt/job/chk-7/_metadata';
/** CRC32C of the whole encoding of `sample` in format version 3. */
const PINNED_V3_CRC = 0xdf093591;

function expectCorrupt(bytes: Uint8Array, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    decodeMetadata(bytes, WHERE);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(SluiceError);
  expect((thrown as SluiceError).code).toBe('SLUICE_CHECKPOINT_CORRUPT');
  expect((thrown as SluiceError).message).toContain(WHERE);
  for (const fragment of fragments) expect((thrown as SluiceError).message).toContain(fragment);
}

// ---- arbitraries ----------------------------------------------------------------------------

const hexId = fc.stringMatching(/^[0-9a-f]{32}$/u);
const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/u);
const relativePath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

const streamHandle: fc.Arbitrary<StreamStateHandle> = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((data) => ({ kind: 'inline' as const, data })),
  fc
    .record({
      path: relativePath,
      size: fc.nat({ max: 2 ** 40 }),
      checksum: fc.nat({ max: 0xffffffff }),
      scope: fc.constantFrom(...STATE_SCOPES),
    })
    .map((h) => ({ kind: 'file' as const, ...h })),
);

const blob = (count: number) =>
  streamHandle.chain((handle) =>
    fc
      .array(fc.nat({ max: stateSize(handle) }), { minLength: count, maxLength: count })
      .map((offsets) => ({ offsets: offsets.sort((x, y) => x - y), handle })),
  );

const keyedHandle = (maxParallelism: number) =>
  fc
    .tuple(fc.nat(maxParallelism - 1), fc.nat(maxParallelism - 1), fc.option(fc.nat(3)))
    .chain(([a, b, deltaCount]) => {
      const start = Math.min(a, b);
      const end = Math.max(a, b);
      const count = end - start + 1;
      return fc
        .tuple(blob(count), fc.array(blob(count), { minLength: deltaCount ?? 0, maxLength: deltaCount ?? 0 }))
        .map(([base, deltas]) => ({
          keyGroupRange: { start, end },
          ...base,
          ...(deltaCount === null ? {} : { deltas }),
        }));
    });

const operatorStateHandle = fc.record({
  name: fc.string({ minLength: 1, maxLength: 10 }),
  mode: fc.constantFrom(...OPERATOR_STATE_MODES),
  handle: streamHandle,
});

const operatorSnapshot = (operatorId: string): fc.Arbitrary<OperatorSnapshot> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 12 }),
      fc.option(fc.string({ minLength: 1 })),
      fc.option(fc.string({ minLength: 1 })),
    )
    .chain(([parallelism, extra, uid, name]) => {
      const maxParallelism = parallelism + extra;
      const subtask = (index: number) =>
        fc
          .tuple(
            fc.array(keyedHandle(maxParallelism), { maxLength: 2 }),
            fc.array(operatorStateHandle, { maxLength: 2 }),
            fc.option(fc.nat()),
            fc.option(streamHandle),
          )
          .map(([keyed, operator, size, channelState]) => ({
            subtask: index,
            keyed,
            operator,
            ...(channelState === null ? {} : { channelState }),
            ...(size === null ? {} : { stats: { checkpointedSize: size } }),
          }));
      return fc
        .uniqueArray(fc.nat(parallelism - 1), { maxLength: parallelism })
        .chain((indices) => fc.tuple(...indices.map(subtask)))
        .map((subtasks) => ({
          operatorId: operatorId as OperatorId,
          ...(uid === null ? {} : { uid }),
          ...(name === null ? {} : { name }),
          parallelism,
          maxParallelism,
          subtasks,
        }));
    });

const metadata: fc.Arbitrary<CheckpointMetadata> = fc
  .record({
    jobId: hexId,
    checkpointId: fc.integer({ min: 1, max: 2 ** 40 }),
    triggerTimestamp: fc.nat({ max: 2 ** 45 }),
    duration: fc.nat({ max: 10 ** 7 }),
    isSavepoint: fc.boolean(),
    operatorIds: fc.uniqueArray(hexId, { maxLength: 3 }),
    masterStates: fc.array(
      fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), handle: streamHandle }),
      {
        maxLength: 2,
      },
    ),
  })
  .chain((m) =>
    fc.tuple(...m.operatorIds.map(operatorSnapshot)).map((operators) => ({
      formatVersion: METADATA_FORMAT_VERSION,
      jobId: m.jobId as JobId,
      checkpointId: m.checkpointId as CheckpointId,
      triggerTimestamp: m.triggerTimestamp,
      completionTimestamp: m.triggerTimestamp + m.duration,
      isSavepoint: m.isSavepoint,
      operators,
      masterStates: m.masterStates,
    })),
  );

/** A small fixed document with every kind of handle. */
const sample: CheckpointMetadata = {
  formatVersion: METADATA_FORMAT_VERSION,
  jobId: '0123456789abcdef0123456789abcdef' as JobId,
  checkpointId: 7 as CheckpointId,
  triggerTimestamp: 1_700_000_000_000,
  completionTimestamp: 1_700_000_000_250,
  isSavepoint: false,
  operators: [
    {
      operatorId: 'fedcba9876543210fedcba9876543210' as OperatorId,
      uid: 'counter',
      parallelism: 2,
      maxParallelism: 4,
      subtasks: [
        {
          subtask: 0,
          keyed: [
            {
              keyGroupRange: { start: 0, end: 1 },
              offsets: [0, 3],
              handle: { kind: 'inline', data: new Uint8Array([1, 2, 3, 4, 5]) },
            },
          ],
          operator: [
            {
              name: 'offsets',
              mode: 'SPLIT_DISTRIBUTE',
              handle: { kind: 'file', path: 'a-uuid', size: 30000, checksum: 0xdeadbeef, scope: 'exclusive' },
            },
          ],
          stats: { checkpointedSize: 30005 },
        },
      ],
    },
  ],
  masterStates: [
    {
      name: 'enumerator',
      handle: { kind: 'file', path: 'shared/s-uuid', size: 9, checksum: 1, scope: 'shared' },
    },
  ],
};

/** Frames an arbitrary body exactly as the writer does, to test what happens past the checksum. */
function frame(body: unknown, version = METADATA_FORMAT_VERSION): Uint8Array {
  return frameBytes(new Packr({ useRecords: false }).pack(body), version);
}

describe('checkpoint metadata encoding', () => {
  it('round-trips any document', () => {
    fc.assert(
      fc.property(metadata, (meta) => {
        expect(decodeMetadata(encodeMetadata(meta), WHERE)).toEqual(meta);
      }),
      { numRuns: 300 },
    );
  });

  it('starts with the magic number, the version and the body length', () => {
    const bytes = encodeMetadata(sample);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('SLCK');
    expect(view.getUint32(4)).toBe(3);
    expect(view.getUint32(8)).toBe(bytes.length - 16);
    expect(view.getUint32(bytes.length - 4)).toBe(crc32c(bytes.subarray(12, bytes.length - 4)));
  });

  it('is deterministic, so a format change shows up as a changed checksum', () => {
    const bytes = encodeMetadata(sample);
    expect(encodeMetadata(sample)).toEqual(bytes);
    // Pinned: if this changes, the on-disk format changed; bump METADATA_FORMAT_VERSION and keep a
    // reader for versions 1 to 3.
    expect(bytes.length).toBe(610);
    expect(crc32c(bytes)).toBe(PINNED_V3_CRC);
  });

  it('still reads format version 2, written before unaligned checkpoints, and refuses channel state in it', () => {
    const body = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(
      encodeMetadata(sample).subarray(12, -4),
    ) as Record<string, unknown>;
    body['formatVersion'] = 2;
    expect(decodeMetadata(frame(body, 2), WHERE)).toEqual({ ...sample, formatVersion: 2 });
    const withChannelState = structuredClone(body) as { operators: { subtasks: object[] }[] };
    withChannelState.operators[0]!.subtasks[0] = {
      ...withChannelState.operators[0]!.subtasks[0],
      channelState: { kind: 'inline', data: new Uint8Array([1]) },
    };
    expectCorrupt(frame(withChannelState, 2), 'channelState', 'is not part of format version 2');
  });

  it('still reads format version 1, written before incremental checkpoints', () => {
    // Version 1 is version 2's body without the repeated version: these are the very bytes the
    // version-1 writer produced for `sample` (pinned length and checksum of that writer).
    const body = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(
      encodeMetadata(sample).subarray(12, -4),
    ) as Record<string, unknown>;
    delete body['formatVersion'];
    const v1 = frame(body, 1);
    expect(v1.length).toBe(595);
    expect(crc32c(v1)).toBe(0x86f7f931);
    expect(decodeMetadata(v1, WHERE)).toEqual({ ...sample, formatVersion: 1 });
    // Deltas need version 2, and a version-2 body under a version-1 header is damage.
    const withDeltas = structuredClone(body) as { operators: { subtasks: { keyed: object[] }[] }[] };
    withDeltas.operators[0]!.subtasks[0]!.keyed[0] = {
      ...withDeltas.operators[0]!.subtasks[0]!.keyed[0],
      deltas: [],
    };
    expectCorrupt(frame(withDeltas, 1), 'deltas', 'is not part of format version 1');
    const headerOnly = encodeMetadata(sample).slice();
    new DataView(headerOnly.buffer).setUint32(4, 1);
    expectCorrupt(headerOnly, 'formatVersion', 'is not part of format version 1');
  });

  it('round-trips the chain of an incremental keyed handle', () => {
    const keyed = {
      keyGroupRange: { start: 0, end: 1 },
      offsets: [0, 10],
      handle: { kind: 'file', path: 'shared/base', size: 40000, checksum: 7, scope: 'shared' },
      deltas: [
        { offsets: [0, 0], handle: { kind: 'inline', data: new Uint8Array([9]) } },
        {
          offsets: [0, 30],
          handle: { kind: 'file', path: 'shared/d2', size: 30000, checksum: 8, scope: 'shared' },
        },
      ],
    } as const;
    const meta: CheckpointMetadata = {
      ...sample,
      operators: [{ ...sample.operators[0]!, subtasks: [{ subtask: 0, keyed: [keyed], operator: [] }] }],
    };
    expect(decodeMetadata(encodeMetadata(meta), WHERE)).toEqual(meta);
    const bad = { ...keyed, deltas: [{ offsets: [0], handle: keyed.deltas[0].handle }] };
    expect(() =>
      encodeMetadata({
        ...meta,
        operators: [{ ...sample.operators[0]!, subtasks: [{ subtask: 0, keyed: [bad], operator: [] }] }],
      }),
    ).toThrow(/keyed\[0\]\.deltas\[0\]\.offsets should hold 2 offsets/u);
  });

  it('detects a flip of any bit pattern in any byte', () => {
    const bytes = encodeMetadata(sample);
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = bytes.slice();
        damaged[i]! ^= mask;
        expect(() => decodeMetadata(damaged, WHERE), `byte ${i} ^ ${mask}`).toThrow(SluiceError);
      }
    }
  });

  it('detects any flipped byte of any document', () => {
    fc.assert(
      fc.property(metadata, fc.nat(), fc.integer({ min: 1, max: 255 }), (meta, at, mask) => {
        const damaged = encodeMetadata(meta).slice();
        damaged[at % damaged.length]! ^= mask;
        expectCorrupt(damaged);
      }),
      { numRuns: 300 },
    );
  });

  it('detects truncation at every length and trailing bytes', () => {
    const bytes = encodeMetadata(sample);
    for (let n = 0; n < bytes.length; n++) expectCorrupt(bytes.subarray(0, n));
    expectCorrupt(bytes.subarray(0, 0), 'truncated: 0 bytes');
    expectCorrupt(bytes.subarray(0, 100), 'truncated', '100');
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expectCorrupt(longer, '3 unexpected bytes after the checksum');
  });

  it("never quotes a foreign file's bytes (issue 11: no probing of the JobManager's files)", () => {
    const passwd = new TextEncoder().encode('root:x:0:0:root:/root:/bin/bash\n'.repeat(3));
    let message = '';
    try {
      decodeMetadata(passwd, WHERE);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('not a Sluice checkpoint metadata file');
    expect(message).not.toMatch(/root|726f6f74/u);
  });

  it('says what is wrong', () => {
    const bytes = encodeMetadata(sample);
    const badMagic = bytes.slice();
    badMagic.set(new TextEncoder().encode('PK\x03\x04'));
    expectCorrupt(badMagic, 'does not start with "SLCK"', 'not a Sluice checkpoint metadata file');

    const future = bytes.slice();
    new DataView(future.buffer).setUint32(4, 9);
    expectCorrupt(future, 'format version 9 is not supported', 'reads versions 1, 2');

    const flipped = bytes.slice();
    flipped[40]! ^= 0x10;
    expectCorrupt(flipped, 'checksum mismatch (stored 0x', 'computed 0x');
  });

  it('rejects a well-framed body that is not a valid document, naming the field', () => {
    expectCorrupt(frame([1, 2]), 'body should be a map, found a list');
    const wire = {
      formatVersion: METADATA_FORMAT_VERSION,
      jobId: 'j',
      checkpointId: 3,
      triggerTimestamp: 1,
      completionTimestamp: 2,
      isSavepoint: false,
      masterStates: [],
      operators: [
        {
          operatorId: 'op',
          parallelism: 1,
          maxParallelism: 8,
          subtasks: [
            {
              subtask: 0,
              operator: [],
              keyed: [
                {
                  keyGroupRange: { start: 0, end: 3 },
                  offsets: [0, 1],
                  handle: { kind: 'inline', data: new Uint8Array(4) },
                },
              ],
            },
          ],
        },
      ],
    };
    expectCorrupt(frame(wire), 'operators[0].subtasks[0].keyed[0].offsets should hold 4 offsets', '0..3');
    expectCorrupt(frame({ ...wire, checkpointId: 'three' }), 'checkpointId should be an integer');
    const escaping = structuredClone(wire);
    escaping.operators[0]!.subtasks[0]!.keyed[0]!.offsets = [0, 0, 0, 0];
    (escaping.operators[0]!.subtasks[0]!.keyed[0]!.handle as Record<string, unknown>) = {
      kind: 'file',
      path: '../../etc/passwd',
      size: 1,
      checksum: 0,
      scope: 'exclusive',
    };
    expectCorrupt(frame(escaping), "has an empty, '.' or '..' segment");
  });

  it('refuses to write a document it could not read back', () => {
    const bad: CheckpointMetadata = {
      ...sample,
      operators: [{ ...sample.operators[0]!, subtasks: [{ subtask: 5, keyed: [], operator: [] }] }],
    };
    expect(() => encodeMetadata(bad)).toThrow(
      /could not be read back: operators\[0\]\.subtasks\[0\]\.subtask/u,
    );
    expect(() => encodeMetadata({ ...sample, formatVersion: 1 })).toThrow(/format version 3, not 1/u);
  });

  it('decodes inline data into fresh copies', () => {
    const bytes = encodeMetadata(sample);
    const first = decodeMetadata(bytes, WHERE);
    const handle = first.operators[0]!.subtasks[0]!.keyed[0]!.handle;
    if (handle.kind !== 'inline') throw new Error('expected inline');
    handle.data.fill(0);
    expect(decodeMetadata(bytes, WHERE)).toEqual(sample);
  });
});

/** Frames raw body bytes as the writer does (magic, version, length, CRC32C), so damage reaches the parser. */
function frameBytes(packed: Uint8Array, version = METADATA_FORMAT_VERSION): Uint8Array {
  const out = new Uint8Array(16 + packed.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('SLCK'));
  view.setUint32(4, version);
  view.setUint32(8, packed.length);
  out.set(packed, 12);
  view.setUint32(12 + packed.length, crc32c(packed));
  return out;
}

/** Decodes `bytes`: a document, or SLUICE_CHECKPOINT_CORRUPT naming the file; never another error. */
function decodesOrIsCorrupt(bytes: Uint8Array): void {
  try {
    decodeMetadata(bytes, WHERE);
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    expect((e as SluiceError).code, (e as Error).message).toBe('SLUICE_CHECKPOINT_CORRUPT');
    expect((e as SluiceError).message).toContain(WHERE);
  }
}

describe('decoding mutated _metadata (fuzz: clear errors only, never a parser failure)', () => {
  const edits = fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
    minLength: 1,
    maxLength: 8,
  });

  it('any bytes changed anywhere in a valid file, or a file cut short', () => {
    fc.assert(
      fc.property(metadata, edits, fc.option(fc.nat()), (meta, changes, cut) => {
        const bytes = encodeMetadata(meta).slice();
        for (const { at, byte } of changes) bytes[at % bytes.length] = byte;
        decodesOrIsCorrupt(cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
      }),
      { numRuns: 300 },
    );
  });

  it('any bytes changed in a valid body, re-framed with a matching length and checksum', () => {
    fc.assert(
      fc.property(
        metadata,
        edits,
        fc.option(fc.nat()),
        fc.constantFrom(1, 2),
        (meta, changes, cut, version) => {
          const encoded = encodeMetadata(meta);
          const body = encoded.slice(12, encoded.length - 4);
          for (const { at, byte } of changes) body[at % body.length] = byte;
          decodesOrIsCorrupt(
            frameBytes(cut === null ? body : body.subarray(0, cut % (body.length + 1)), version),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any MessagePack value, or any bytes, as a well-framed body', () => {
    fc.assert(
      fc.property(fc.anything({ withMap: true, withSet: true, withTypedArray: true }), (value) =>
        decodesOrIsCorrupt(frame(value)),
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (body) => decodesOrIsCorrupt(frameBytes(body))),
      { numRuns: 300 },
    );
  });
});

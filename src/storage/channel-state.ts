/**
 * The channel state of an unaligned checkpoint, as one blob per subtask: the in-flight buffers a
 * subtask's input channels received before their barrier but processed after the snapshot, and
 * the output buffers its barrier overtook. Buffers are stored as the record writer framed them,
 * so restoring replays them byte for byte.
 *
 * Layout (big-endian): `u32 magic 'SLCS'`, `u32 version (1)`, `u32 inputs`, per input channel
 * `u32 channel, u32 buffers, [u32 length, bytes]…`, `u32 outputs`, per output channel
 * `u32 writer, u32 subpartition, u32 buffers, [u32 length, bytes]…`.
 */
import { ByteReader, ByteWriter, corruptSnapshot } from '../state/byte-io.js';

const MAGIC = 0x534c4353; // 'SLCS'
const VERSION = 1;

/** One input channel's recorded buffers (its index among the task's input channels). */
export interface InputChannelState {
  readonly channel: number;
  readonly buffers: readonly Uint8Array[];
}

/** One output channel's overtaken buffers: the task's `writer`-th output, its `subpartition`. */
export interface ResultSubpartitionState {
  readonly writer: number;
  readonly subpartition: number;
  readonly buffers: readonly Uint8Array[];
}

/** A subtask's channel state. */
export interface ChannelState {
  readonly inputs: readonly InputChannelState[];
  readonly outputs: readonly ResultSubpartitionState[];
}

/** Bytes of buffers in `state` (Flink's persisted in-flight data). */
export function channelStateBytes(state: ChannelState): number {
  let n = 0;
  for (const c of state.inputs) for (const b of c.buffers) n += b.length;
  for (const c of state.outputs) for (const b of c.buffers) n += b.length;
  return n;
}

/** Whether `state` holds no buffer at all (nothing is written for it then). */
export function isEmptyChannelState(state: ChannelState): boolean {
  return (
    state.inputs.every((c) => c.buffers.length === 0) && state.outputs.every((c) => c.buffers.length === 0)
  );
}

export function encodeChannelState(state: ChannelState): Uint8Array {
  const w = new ByteWriter(channelStateBytes(state) + 64);
  w.u32(MAGIC);
  w.u32(VERSION);
  const inputs = state.inputs.filter((c) => c.buffers.length > 0);
  w.u32(inputs.length);
  for (const c of inputs) {
    w.u32(c.channel);
    writeBuffers(w, c.buffers);
  }
  const outputs = state.outputs.filter((c) => c.buffers.length > 0);
  w.u32(outputs.length);
  for (const c of outputs) {
    w.u32(c.writer);
    w.u32(c.subpartition);
    writeBuffers(w, c.buffers);
  }
  return w.toBytes();
}

function writeBuffers(w: ByteWriter, buffers: readonly Uint8Array[]): void {
  w.u32(buffers.length);
  for (const b of buffers) w.bytes(b);
}

/** Reads a blob of `encodeChannelState`; `what` names it in errors (SLUICE_STATE_CORRUPT). */
export function decodeChannelState(bytes: Uint8Array, what: string): ChannelState {
  const r = new ByteReader(bytes, 0, bytes.length, what);
  if (r.u32() !== MAGIC) throw corruptSnapshot(what, 'it is not channel state (bad magic number)');
  const version = r.u32();
  if (version !== VERSION)
    throw corruptSnapshot(
      what,
      `channel state format version ${version} is not known to this version of Sluice`,
    );
  const inputs: InputChannelState[] = [];
  for (let i = r.u32(); i > 0; i--) inputs.push({ channel: r.u32(), buffers: readBuffers(r) });
  const outputs: ResultSubpartitionState[] = [];
  for (let i = r.u32(); i > 0; i--)
    outputs.push({ writer: r.u32(), subpartition: r.u32(), buffers: readBuffers(r) });
  r.expectDone();
  return { inputs, outputs };
}

function readBuffers(r: ByteReader): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  for (let i = r.u32(); i > 0; i--) buffers.push(r.lengthPrefixed());
  return buffers;
}

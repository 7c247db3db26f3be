/**
 * The operators of `stream.connect(broadcastStream).process(fn)` (Flink's CoBroadcastWithNonKeyedOperator
 * and CoBroadcastWithKeyedOperator): input 1 is the non-broadcast stream, input 2 the broadcast
 * one. The broadcast states declared by `broadcast(descriptors...)` are operator state with the
 * BROADCAST mode: read-write while a broadcast record is processed, read-only otherwise (every
 * subtask sees the broadcast input whole, so the copies stay equal only if it alone writes them).
 */
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type { TwoInputStreamOperator } from '../../runtime/stream-operator.js';
import type { BroadcastMapState } from '../../state/broadcast-state.js';
import type { OperatorStateBackend } from '../../state/operator-state-backend.js';
import type { MapStateDescriptor, StateDescriptor } from '../../state/state-descriptor.js';
import type { StateFor } from '../../state/keyed-state-backend.js';
import type {
  BroadcastContext,
  BroadcastProcessFunction,
  BroadcastReadOnlyContext,
  BroadcastState,
  KeyedBroadcastContext,
  KeyedBroadcastOnTimerContext,
  KeyedBroadcastProcessFunction,
  KeyedStateFunction,
  ReadOnlyBroadcastState,
} from '../co-functions.js';
import type { OutputTag } from '../output-tag.js';
import type { OnTimerContext } from '../process-function.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';
import { UdfOperator } from './udf-operator.js';

/** The read methods of a broadcast state, so the non-broadcast side cannot write it. */
class ReadOnlyView<K, V> implements ReadOnlyBroadcastState<K, V> {
  constructor(private readonly state: BroadcastMapState<K, V>) {}
  get(key: K): V | undefined {
    return this.state.get(key);
  }
  contains(key: K): boolean {
    return this.state.contains(key);
  }
  immutableEntries(): IterableIterator<readonly [K, V]> {
    return this.state.entries();
  }
  entries(): IterableIterator<readonly [K, V]> {
    return this.state.entries();
  }
  keys(): IterableIterator<K> {
    return this.state.keys();
  }
  values(): IterableIterator<V> {
    return this.state.values();
  }
  isEmpty(): boolean {
    return this.state.isEmpty();
  }
}

/** The operator's broadcast states, by the names `broadcast(...)` declared. */
class BroadcastStates {
  private readonly states = new Map<string, BroadcastMapState<unknown, unknown>>();
  private readonly views = new Map<string, ReadOnlyView<unknown, unknown>>();

  constructor(
    private readonly descriptors: readonly MapStateDescriptor<unknown, unknown>[],
    private readonly operatorName: () => string,
  ) {}

  /** Registers every declared state (so each is snapshotted and restored even before first use). */
  open(backend: OperatorStateBackend): void {
    for (const d of this.descriptors) {
      const state = backend.getBroadcastState(d);
      this.states.set(d.name, state);
      this.views.set(d.name, new ReadOnlyView(state));
    }
  }

  readWrite<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    return this.lookup(this.states, descriptor) as BroadcastState<K, V>;
  }

  readOnly<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    return this.lookup(this.views, descriptor) as ReadOnlyBroadcastState<K, V>;
  }

  private lookup<S>(map: ReadonlyMap<string, S>, descriptor: MapStateDescriptor<unknown, unknown>): S {
    const state = map.get(descriptor?.name);
    if (state === undefined)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `operator '${this.operatorName()}' has no broadcast state '${String(descriptor?.name)}': pass its ` +
          `MapStateDescriptor to broadcast(...) (declared: ${this.descriptors.map((d) => `'${d.name}'`).join(', ') || 'none'}).`,
      );
    return state;
  }
}

/** What both contexts answer (about time) and do (emit to a side output), from their operator. */
interface ContextSource {
  timestamp(): number | null;
  currentProcessingTime(): number;
  currentWatermark(): number;
  emitSideOutput<X>(tag: OutputTag<X>, value: X): void;
}

/** The non-broadcast side's context: read-only broadcast state. */
class ReadOnlyContext implements BroadcastReadOnlyContext {
  constructor(
    protected readonly source: ContextSource,
    protected readonly states: BroadcastStates,
  ) {}
  timestamp(): number | null {
    return this.source.timestamp();
  }
  currentProcessingTime(): number {
    return this.source.currentProcessingTime();
  }
  currentWatermark(): number {
    return this.source.currentWatermark();
  }
  output<X>(outputTag: OutputTag<X>, value: X): void {
    this.source.emitSideOutput(outputTag, value);
  }
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V> {
    return this.states.readOnly(descriptor);
  }
}

/** The broadcast side's context: read-write broadcast state. */
class ReadWriteContext extends ReadOnlyContext implements BroadcastContext {
  override getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V> {
    return this.states.readWrite(descriptor);
  }
}

/** Operator of `nonKeyed.connect(broadcastStream).process(BroadcastProcessFunction)`. */
export class BroadcastProcessOperator<IN1, IN2, OUT>
  extends UdfOperator<IN1, OUT, BroadcastProcessFunction<IN1, IN2, OUT>>
  implements TwoInputStreamOperator<IN1, IN2>, ContextSource
{
  private readonly states: BroadcastStates;
  private readonly readOnlyContext: ReadOnlyContext;
  private readonly broadcastContext: ReadWriteContext;
  private watermark = MIN_WATERMARK;

  constructor(
    fn: BroadcastProcessFunction<IN1, IN2, OUT>,
    descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    super(fn);
    this.states = new BroadcastStates(descriptors, () => this.info.operatorName);
    this.readOnlyContext = new ReadOnlyContext(this, this.states);
    this.broadcastContext = new ReadWriteContext(this, this.states);
  }

  override initializeState(restored: boolean): void {
    this.states.open(this.info.operatorStateBackend);
    super.initializeState(restored);
  }

  processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    try {
      this.userFunction.processElement(record, this.readOnlyContext, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }
  processElement2(record: IN2): void {
    try {
      this.userFunction.processBroadcastElement(record, this.broadcastContext, this.output);
    } catch (e) {
      throw this.userError(e, 'processBroadcastElement');
    }
  }
  override processWatermark(watermark: number): void {
    this.watermark = watermark;
    this.output.emitWatermark(watermark);
  }

  // --- what the contexts answer ---
  timestamp(): number | null {
    return this.info.elementTimestamp.get();
  }
  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }
  currentWatermark(): number {
    return this.watermark;
  }
}

/** The keyed operator's broadcast side context: also every key's state. */
class KeyedReadWriteContext<K> extends ReadWriteContext implements KeyedBroadcastContext<K> {
  constructor(
    private readonly operator: KeyedBroadcastProcessOperator<K, unknown, unknown, unknown>,
    states: BroadcastStates,
  ) {
    super(operator, states);
  }
  applyToKeyedState<D extends StateDescriptor>(descriptor: D, fn: KeyedStateFunction<K, StateFor<D>>): void {
    this.operator.applyToKeyedState(descriptor, fn);
  }
}

/** Operator of `keyed.connect(broadcastStream).process(KeyedBroadcastProcessFunction)`. */
export class KeyedBroadcastProcessOperator<K, IN1, IN2, OUT>
  extends KeyedProcessOperator<K, IN1, OUT>
  implements TwoInputStreamOperator<IN1, IN2>, ContextSource
{
  private readonly states: BroadcastStates;
  private readonly broadcastContext: KeyedReadWriteContext<K>;
  /** processElement's and onTimer's context: the keyed one, with read-only broadcast state. */
  protected override readonly context: KeyedBroadcastOnTimerContext<K> & OnTimerContext<K> = {
    timestamp: () => this.timestamp(),
    currentProcessingTime: () => this.currentProcessingTime(),
    currentWatermark: () => this.currentWatermark(),
    timerService: () => this,
    getCurrentKey: () => this.getCurrentKey(),
    timeDomain: () => this.timeDomain(),
    output: (tag, value) => this.emitSideOutput(tag, value),
    getBroadcastState: (descriptor) => this.states.readOnly(descriptor),
  };

  constructor(
    fn: KeyedBroadcastProcessFunction<K, IN1, IN2, OUT>,
    key: KeySelectorFn<IN1, K>,
    descriptors: readonly MapStateDescriptor<unknown, unknown>[],
  ) {
    super(fn, key);
    this.states = new BroadcastStates(descriptors, () => this.info.operatorName);
    this.broadcastContext = new KeyedReadWriteContext<K>(
      this as unknown as KeyedBroadcastProcessOperator<K, unknown, unknown, unknown>,
      this.states,
    );
  }

  private get broadcastFunction(): KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> {
    return this.userFunction as unknown as KeyedBroadcastProcessFunction<K, IN1, IN2, OUT>;
  }

  override initializeState(restored: boolean): void {
    this.states.open(this.info.operatorStateBackend);
    super.initializeState(restored);
  }

  override processElement(record: IN1): void {
    this.processElement1(record);
  }
  processElement1(record: IN1): void {
    this.setCurrentKeyOf(this.keySelector, record);
    try {
      this.broadcastFunction.processElement(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }
  processElement2(record: IN2): void {
    try {
      this.broadcastFunction.processBroadcastElement(record, this.broadcastContext, this.output);
    } catch (e) {
      throw this.userError(e, 'processBroadcastElement');
    }
  }

  /** Runs `fn` on `descriptor`'s state of every key of this subtask that has it, that key current. */
  applyToKeyedState<D extends StateDescriptor>(descriptor: D, fn: KeyedStateFunction<K, StateFor<D>>): void {
    const run = typeof fn === 'function' ? fn : fn.process.bind(fn);
    const state = this.backend.getOrCreateKeyedState(descriptor);
    // A copy: the function may clear the state of the key it is given.
    for (const key of [...this.backend.getKeys(descriptor.name)]) {
      this.backend.setCurrentKey(key);
      run(key, state);
    }
  }
}

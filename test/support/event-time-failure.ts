/** The failure scenario of the event-time end-to-end tests: checkpoints, one injected failure mid-input, a held source. */
import { EmbeddedLmdbStateBackend, RestartStrategies, type StreamExecutionEnvironment } from 'sluice';
import { EVENTS, eventSource, type Event } from '../fixtures/event-time-job.js';
import { HoldingReader, InjectedFailure, completedCount, fileUri } from './checkpointing.js';

/** What a test wires into its job: the source to read and the check that throws once. */
export interface FailureMidInput {
  /** The event source, holding its second half back until two checkpoints completed. */
  readonly source: ReturnType<typeof eventSource>;
  /** Call per event with the subtask's attempt number: throws once, past the middle, after two completed checkpoints. */
  readonly check: (e: Event, attempt: number) => void;
  /** Whether the failure was injected. */
  fired(): boolean;
}

/**
 * Sets `env` up for exactly-once with a failure at parallelism 2 (checkpoints every 30 ms into
 * `dir`, three restarts, watermarks every 20 ms, the `backend` asked for) and returns the source
 * and check of the scenario; `where` names the failure.
 */
export function failureMidInput(
  env: StreamExecutionEnvironment,
  backend: 'hashmap' | 'lmdb',
  dir: string,
  where: string,
): FailureMidInput {
  if (backend === 'lmdb') env.setStateBackend(new EmbeddedLmdbStateBackend());
  env.enableCheckpointing(30);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
  env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
  env.getConfig().setAutoWatermarkInterval(20);
  let emitted = 0;
  let fired = false;
  // The second half of the input waits for two completed checkpoints, however loaded the machine.
  const held = () => emitted >= EVENTS / 2 && completedCount() < 2;
  return {
    source: eventSource(3000, {
      onEmit: () => emitted++,
      wrapReader: (reader) => new HoldingReader(reader, () => !held()),
    }),
    check: (e, attempt) => {
      if (!fired && attempt === 0 && e.i >= EVENTS / 2 && completedCount() >= 2) {
        fired = true;
        throw new InjectedFailure(where);
      }
    },
    fired: () => fired,
  };
}

/** Restoring a keyed backend from snapshots whose data may still be arriving. */
import { invariant } from '../core/errors.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import type { KeyedStateSnapshot } from './keyed-state-snapshot.js';

/**
 * Restores `backend` from `snapshots`: while their data arrives if the backend can
 * (`restoreArriving`), else once every snapshot is verified. Rejects with a snapshot file's error
 * when it does not check out.
 */
export async function restoreKeyedState(
  backend: KeyedStateBackend<unknown>,
  snapshots: readonly KeyedStateSnapshot[],
): Promise<void> {
  if (backend.restoreArriving !== undefined) return backend.restoreArriving(snapshots);
  invariant(
    snapshots.every((s) => s.arriving?.windowed === undefined),
    'state read through a window is restored by a backend that loads it as it arrives',
  );
  for (const { arriving } of snapshots) await arriving?.verified;
  backend.restore(snapshots);
}

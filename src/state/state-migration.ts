/**
 * State evolution at restore: decides, per serializer of a restored state, how its stored values
 * are read for the state's declaration (as they are, migrated, or not at all), from the
 * serializer ids the snapshot recorded and the declared serializers' `migrate` or
 * `resolveSchemaCompatibility`. Runs once per state at restore; never on the per-record path.
 */
import { SluiceError } from '../core/errors.js';
import {
  TypeSerializerSchemaCompatibility,
  type PreviousSerializer,
  type TypeSerializerSnapshot,
} from '../core/serializer-compatibility.js';
import type { TypeSerializer } from '../core/serializer.js';
import { describeSerializers, type SerializerId } from './serializer-id.js';

/** What a state is, for messages: its name and, when known, the operator that declares it. */
export function describeRestoredState(name: string, owner: string | undefined, keyed = true): string {
  return `${keyed ? 'state' : 'operator state'} '${name}'${owner === undefined ? '' : ` of ${owner}`}`;
}

function migrationFailed(state: string, problem: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_MIGRATION_FAILED',
    `cannot restore ${state}: ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}

/** What `serializer` says of values `stored` wrote (equal name and version: as is, always). */
function resolve(
  stored: TypeSerializerSnapshot,
  serializer: TypeSerializer<unknown>,
  state: string,
): TypeSerializerSchemaCompatibility {
  if (stored.name === serializer.name && stored.version === serializer.version)
    return TypeSerializerSchemaCompatibility.compatibleAsIs();
  if (typeof serializer.resolveSchemaCompatibility === 'function') {
    let result: unknown;
    try {
      result = serializer.resolveSchemaCompatibility({ name: stored.name, version: stored.version });
    } catch (e) {
      throw migrationFailed(
        state,
        `resolveSchemaCompatibility() of serializer ${describeSerializers([serializer])} threw: ${(e as Error).message}`,
        e,
      );
    }
    if (!(result instanceof TypeSerializerSchemaCompatibility))
      throw migrationFailed(
        state,
        `resolveSchemaCompatibility() of serializer ${describeSerializers([serializer])} returned ` +
          `${result === null ? 'null' : typeof result} instead of a TypeSerializerSchemaCompatibility ` +
          '(compatibleAsIs(), compatibleAfterMigration(...) or incompatible())',
      );
    return result;
  }
  if (stored.name !== serializer.name)
    return TypeSerializerSchemaCompatibility.incompatible(
      `the serializer's name changed, and '${serializer.name}' has no resolveSchemaCompatibility() to say ` +
        `how to read what '${stored.name}' wrote`,
    );
  if (stored.version > serializer.version)
    return TypeSerializerSchemaCompatibility.incompatible(
      `it was written by version ${stored.version}, newer than this job's version ${serializer.version}: ` +
        'restore it with a job whose serializer is at least that version',
    );
  const migrate = typeof serializer.migrate === 'function' ? serializer.migrate.bind(serializer) : undefined;
  if (migrate === undefined)
    return TypeSerializerSchemaCompatibility.incompatible(
      `version ${serializer.version} of '${serializer.name}' has no migrate(oldValue, fromVersion) for ` +
        `values of version ${stored.version}`,
    );
  return TypeSerializerSchemaCompatibility.compatibleAfterMigration({
    migrate: (old, previous) => migrate(old, previous.version),
  });
}

/**
 * The serializer that reads what `stored` wrote for a state declared with `serializer`:
 * `serializer` itself when it reads the bytes as they are, otherwise a reader that migrates each
 * value (read with the migration's previous serializer, then `migrate`d). Throws
 * SLUICE_STATE_MIGRATION_FAILED, naming `state`, when there is no way from one to the other.
 */
export function restoreSerializerFor(
  stored: SerializerId,
  serializer: TypeSerializer<unknown>,
  state: string,
): TypeSerializer<unknown> {
  const compatibility = resolve(stored, serializer, state);
  if (compatibility.isCompatibleAsIs()) return serializer;
  const written = `it was written with ${describeSerializers([stored])}, and is declared with ${describeSerializers([serializer])}`;
  if (!compatibility.isCompatibleAfterMigration())
    throw migrationFailed(
      state,
      `${written}: ${compatibility.reason ?? `${describeSerializers([serializer])} declared it incompatible`}. ` +
        'Declare the state with the serializer it was written with, or give the serializer a migration ' +
        '(migrate(oldValue, fromVersion) or resolveSchemaCompatibility(previous)).',
    );
  const migration = compatibility.migration ?? {};
  const previous: PreviousSerializer = migration.previousSerializer ?? serializer;
  const migrate = migration.migrate;
  const snapshot: TypeSerializerSnapshot = { name: stored.name, version: stored.version };
  return {
    name: serializer.name,
    version: serializer.version,
    serialize: () => {
      throw new SluiceError('SLUICE_INTERNAL_ASSERTION', 'a migrating reader only reads');
    },
    deserialize(bytes, start, end) {
      let old: unknown;
      try {
        old = previous.deserialize(bytes, start, end);
      } catch (e) {
        throw migrationFailed(
          state,
          `${written}, and the previous serializer of its migration cannot read a stored value: ${(e as Error).message}`,
          e,
        );
      }
      if (migrate === undefined) return old;
      try {
        return migrate(old, snapshot);
      } catch (e) {
        throw migrationFailed(state, `${written}, and its migration threw: ${(e as Error).message}`, e);
      }
    },
  };
}

/**
 * The serializers that read a restored state's values, one per declared serializer, or
 * undefined when the declared ones read them as they are (the common case: nothing changes).
 */
export function restoreSerializersFor(
  stored: readonly SerializerId[],
  declared: readonly TypeSerializer<unknown>[],
  state: string,
): TypeSerializer<unknown>[] | undefined {
  if (stored.length !== declared.length)
    throw migrationFailed(
      state,
      `it was written with ${describeSerializers(stored)}, and is declared with ${describeSerializers(declared)}`,
    );
  const readers = declared.map((serializer, i) => restoreSerializerFor(stored[i]!, serializer, state));
  return readers.every((reader, i) => reader === declared[i]) ? undefined : readers;
}

/**
 * State schema evolution (Flink's `TypeSerializerSchemaCompatibility`): what a state's serializer
 * says about values written by the serializer a checkpoint or savepoint recorded for that state.
 */

/**
 * A serializer as snapshots record it: the name and version it had when it wrote the state
 * (the part of Flink's `TypeSerializerSnapshot` that identifies a format).
 */
export interface TypeSerializerSnapshot {
  readonly name: string;
  readonly version: number;
}

/** Reads values in the format of an earlier serializer (what Flink's `restoreSerializer()` gives). */
export interface PreviousSerializer<T = unknown> {
  /** The value encoded in `bytes[start, end)`, as the earlier serializer wrote it. */
  deserialize(bytes: Uint8Array, start: number, end: number): T;
}

/** How restored values are turned into values of the new serializer. */
export interface StateMigration<T> {
  /**
   * Reads the stored bytes (Flink's `oldSerializerSnapshot.restoreSerializer()`); by default the
   * new serializer's own `deserialize`, right when it can still read its older versions.
   */
  readonly previousSerializer?: PreviousSerializer;
  /** Turns a value as read into one of the new schema; by default the value as read. */
  readonly migrate?: (oldValue: unknown, previous: TypeSerializerSnapshot) => T;
}

/** The three outcomes Flink's `TypeSerializerSchemaCompatibility` has and Sluice acts on. */
export type SchemaCompatibilityType = 'COMPATIBLE_AS_IS' | 'COMPATIBLE_AFTER_MIGRATION' | 'INCOMPATIBLE';

/**
 * What `TypeSerializer.resolveSchemaCompatibility(previous)` returns. Migration happens once, at
 * restore: every restored value of the state is read with the migration's previous serializer,
 * passed through `migrate`, and from then on written with the new serializer.
 */
export class TypeSerializerSchemaCompatibility<T = unknown> {
  private constructor(
    readonly type: SchemaCompatibilityType,
    readonly migration: StateMigration<T> | undefined,
    /** Why the state cannot be restored, for the error message (incompatible only). */
    readonly reason: string | undefined,
  ) {}

  /** The stored bytes are read by the new serializer as they are. */
  static compatibleAsIs<T = unknown>(): TypeSerializerSchemaCompatibility<T> {
    return new TypeSerializerSchemaCompatibility<T>('COMPATIBLE_AS_IS', undefined, undefined);
  }

  /** The stored values are read with `migration.previousSerializer` and converted with `migration.migrate`. */
  static compatibleAfterMigration<T = unknown>(
    migration: StateMigration<T> = {},
  ): TypeSerializerSchemaCompatibility<T> {
    return new TypeSerializerSchemaCompatibility<T>('COMPATIBLE_AFTER_MIGRATION', migration, undefined);
  }

  /** The state cannot be restored with this serializer; `reason` goes into the restore's error. */
  static incompatible<T = unknown>(reason?: string): TypeSerializerSchemaCompatibility<T> {
    return new TypeSerializerSchemaCompatibility<T>('INCOMPATIBLE', undefined, reason);
  }

  isCompatibleAsIs(): boolean {
    return this.type === 'COMPATIBLE_AS_IS';
  }

  isCompatibleAfterMigration(): boolean {
    return this.type === 'COMPATIBLE_AFTER_MIGRATION';
  }

  isIncompatible(): boolean {
    return this.type === 'INCOMPATIBLE';
  }
}

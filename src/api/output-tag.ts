/**
 * Flink's OutputTag: names a side output of an operator. Java captures the element type with an
 * anonymous subclass (`new OutputTag<String>("late") {}`); TypeScript has no runtime types, so the
 * constructor takes the id and, optionally, the serializer the tag's records cross the network
 * with (msgpack otherwise). Two tags with the same id are the same side output.
 */
import { invalidProgram } from '../core/errors.js';
import type { TypeSerializer } from '../core/serializer.js';

export class OutputTag<T> {
  private readonly id: string;
  private readonly typeSerializer: TypeSerializer<T> | undefined;

  constructor(id: string, typeSerializer?: TypeSerializer<T>) {
    if (typeof id !== 'string' || id.length === 0)
      throw invalidProgram(`an OutputTag needs a non-empty string id, got ${String(id)}.`);
    this.id = id;
    this.typeSerializer = typeSerializer;
  }

  getId(): string {
    return this.id;
  }
  /** The serializer given to the constructor, if any. */
  getTypeSerializer(): TypeSerializer<T> | undefined {
    return this.typeSerializer;
  }
  equals(other: unknown): boolean {
    return other instanceof OutputTag && other.id === this.id;
  }
  toString(): string {
    return `OutputTag(${this.id})`;
  }
}

/** Rejects what is not an OutputTag (a plain string, say) with an error naming the call. */
export function checkOutputTag(tag: unknown, what: string): OutputTag<unknown> {
  if (!(tag instanceof OutputTag))
    throw invalidProgram(`${what} takes an OutputTag (new OutputTag<T>(id)), got ${String(tag)}.`);
  return tag as OutputTag<unknown>;
}

/** The classes a job registers (`env.registerType`), so their instances keep their prototype when serialized. */
import { SluiceError } from './errors.js';

/** A class (any constructor with a prototype). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- constructors of any arity and argument types
export type Class = abstract new (...args: any[]) => unknown;

/** One registered class and the name its instances are written under. */
export interface RegisteredType {
  /** Written with every instance (records, checkpoints): the persisted identity of the class. */
  readonly name: string;
  readonly cls: Class;
  readonly prototype: object;
}

/**
 * Prototypes whose instances the default serializer keeps without registration: registering
 * them would mean nothing, so it is refused.
 */
const BUILT_IN = new Set<unknown>([
  Object,
  Array,
  Map,
  Set,
  Date,
  RegExp,
  Error,
  ArrayBuffer,
  DataView,
  Promise,
  WeakMap,
  WeakSet,
  Function,
]);

/** Built-in collections: a subclass's contents live outside its fields, which is what is written. */
const COLLECTIONS: readonly (abstract new (...args: never[]) => unknown)[] = [
  Map,
  Set,
  Array,
  Date,
  RegExp,
  Promise,
];

function fail(message: string): SluiceError {
  return new SluiceError('SLUICE_PROGRAM_INVALID', message);
}

/**
 * The registered classes of one job (Flink's registered POJO types). Each class is known by a
 * name — the one given to `register`, else the class's own `name` — that is written with every
 * instance, so checkpoints restore into the same class in a later version of the job as long as
 * the name stays the same. Two classes never share a name, so they cannot be confused.
 */
export class TypeRegistry {
  private readonly byPrototype = new Map<object, RegisteredType>();
  private readonly byName = new Map<string, RegisteredType>();

  /** A registry with no classes. */
  static empty(): TypeRegistry {
    return new TypeRegistry();
  }

  /** Registers `cls` under `name` (default: the class's name). Registering it again the same way is a no-op. */
  register(cls: Class, name?: string): RegisteredType {
    if (typeof cls !== 'function' || typeof cls.prototype !== 'object' || cls.prototype === null)
      throw fail(`registerType() needs a class, got ${describe(cls)}.`);
    if (BUILT_IN.has(cls) || isTypedArrayClass(cls) || isErrorClass(cls))
      throw fail(
        `registerType(${cls.name}): ${cls.name} is serialized faithfully without registration; register your own classes only.`,
      );
    const collection = COLLECTIONS.find((c) => cls.prototype instanceof c);
    if (collection !== undefined)
      throw fail(
        `registerType(${cls.name}): ${cls.name} extends ${collection.name}, whose contents are not fields; ` +
          `keep the data in a ${collection.name} field of a class of your own instead.`,
      );
    if (name !== undefined && (typeof name !== 'string' || name.length === 0))
      throw fail(
        `registerType(${cls.name}, name): the name must be a non-empty string, got ${describe(name)}.`,
      );
    const resolved = name ?? cls.name;
    if (resolved.length === 0)
      throw fail(
        "registerType() of an anonymous class: give it a name that stays the same across job versions, e.g. registerType(cls, 'Order').",
      );
    const known = this.byPrototype.get(cls.prototype as object);
    if (known !== undefined) {
      if (known.name === resolved) return known;
      throw fail(
        `registerType(${cls.name}, '${resolved}'): the class is already registered as '${known.name}'; register each class once.`,
      );
    }
    const taken = this.byName.get(resolved);
    if (taken !== undefined)
      throw fail(
        `registerType(${cls.name}): another class is already registered as '${resolved}'; give each class its own ` +
          `name, e.g. registerType(${cls.name}, 'orders.${resolved}'), and keep the names stable across job versions.`,
      );
    const entry: RegisteredType = { name: resolved, cls, prototype: cls.prototype as object };
    this.byPrototype.set(entry.prototype, entry);
    this.byName.set(resolved, entry);
    return entry;
  }

  /** The registration of instances with prototype `prototype`, if any. */
  ofPrototype(prototype: object): RegisteredType | undefined {
    return this.byPrototype.get(prototype);
  }

  /** The registration named `name`, if any. */
  named(name: string): RegisteredType | undefined {
    return this.byName.get(name);
  }

  /** Every registration, in registration order. */
  entries(): RegisteredType[] {
    return [...this.byName.values()];
  }

  /** An independent copy (a submission keeps the registrations made before its `execute()`). */
  copy(): TypeRegistry {
    const out = new TypeRegistry();
    for (const e of this.byName.values()) out.register(e.cls, e.name);
    return out;
  }
}

const TypedArray = (Object.getPrototypeOf(Uint8Array.prototype) as { constructor: Class }).constructor;

function isTypedArrayClass(cls: Class): boolean {
  return cls.prototype instanceof TypedArray;
}

function isErrorClass(cls: Class): boolean {
  // Error's own subclasses (TypeError, ...) keep their class by name; user subclasses are registered.
  return Object.getPrototypeOf(cls) === Error && cls.name in globalThis;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'function') return 'a function without a prototype (an arrow function or a method)';
  return v === null ? 'null' : typeof v;
}

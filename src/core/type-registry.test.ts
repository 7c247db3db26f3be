/** TypeRegistry: what can be registered, under which name, and what is refused with a clear message. */
import { describe, expect, it } from 'vitest';
import { throwsWith } from '../../test/support/helpers.js';
import { TypeRegistry } from './type-registry.js';

class Point {
  x = 0;
}

function refusal(fn: () => unknown): string {
  return throwsWith(fn, 'SLUICE_PROGRAM_INVALID').message;
}

describe('TypeRegistry', () => {
  it('registers a class under its name or the given one, and finds it by prototype and by name', () => {
    const r = new TypeRegistry();
    class Line {}
    expect(r.register(Point).name).toBe('Point');
    expect(r.register(Line, 'geo.Line').name).toBe('geo.Line');
    expect(r.ofPrototype(Point.prototype)?.cls).toBe(Point);
    expect(r.named('geo.Line')?.cls).toBe(Line);
    expect(r.named('Line')).toBeUndefined();
    expect(r.entries().map((e) => e.name)).toEqual(['Point', 'geo.Line']);
  });

  it('accepts the same registration twice (a module evaluated again), refuses a second name', () => {
    const r = new TypeRegistry();
    r.register(Point);
    r.register(Point, 'Point');
    expect(refusal(() => r.register(Point, 'P'))).toContain("already registered as 'Point'");
  });

  it('refuses a name another class has, suggesting a distinct name', () => {
    const r = new TypeRegistry();
    r.register(Point);
    const Other = class Point {};
    const message = refusal(() => r.register(Other));
    expect(message).toContain("another class is already registered as 'Point'");
    expect(message).toContain("registerType(Point, 'orders.Point')");
  });

  it('refuses what is not a class, anonymous classes without a name, empty names and built-ins', () => {
    const r = new TypeRegistry();
    expect(refusal(() => r.register((() => 1) as never))).toContain('needs a class');
    expect(refusal(() => r.register(undefined as never))).toContain('needs a class, got undefined');
    expect(refusal(() => r.register((() => class {})()))).toContain('anonymous class');
    expect(r.register((() => class {})(), 'Named').name).toBe('Named');
    expect(refusal(() => r.register(Point, ''))).toContain('non-empty string');
    for (const builtIn of [Map, Date, Uint8Array, Buffer, TypeError, Object])
      expect(refusal(() => r.register(builtIn))).toContain('without registration');
  });

  it('refuses subclasses of built-in collections, whose contents are not fields', () => {
    class Registry extends Map<string, number> {}
    expect(refusal(() => new TypeRegistry().register(Registry))).toContain('extends Map');
  });

  it('registers subclasses of Error (their message and stack travel with their fields)', () => {
    class Timeout extends Error {}
    expect(new TypeRegistry().register(Timeout).name).toBe('Timeout');
  });

  it('copies independently', () => {
    const r = new TypeRegistry();
    r.register(Point);
    const copy = r.copy();
    class Later {}
    r.register(Later);
    expect(copy.named('Point')?.cls).toBe(Point);
    expect(copy.named('Later')).toBeUndefined();
  });
});

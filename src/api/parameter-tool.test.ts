/** ParameterTool and MultipleParameterTool read program arguments as Flink's do, and say clearly what is missing. */
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { GlobalJobParameters, parametersAsRecord } from './global-job-parameters.js';
import { MultipleParameterTool, ParameterTool } from './parameter-tool.js';

function parameterError(run: () => unknown): SluiceError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    expect((e as SluiceError).code).toBe('SLUICE_PARAMETER_INVALID');
    return e as SluiceError;
  }
  throw new Error('expected SLUICE_PARAMETER_INVALID');
}

describe('ParameterTool.fromArgs', () => {
  const argv = process.argv;
  afterEach(() => {
    process.argv = argv;
  });

  it('reads --key value and -key value pairs; a key followed by a key or the end is a flag', () => {
    const params = ParameterTool.fromArgs(['--input', 'a.txt', '-n', '5', '--verbose', '--output', 'out']);
    expect(params.get('input')).toBe('a.txt');
    expect(params.getInt('n')).toBe(5);
    expect(params.has('verbose')).toBe(true);
    expect(params.get('output')).toBe('out');
    expect(params.has('missing')).toBe(false);
    expect(params.get('missing')).toBeUndefined();
    expect(params.getNumberOfParameters()).toBe(4);
    expect(ParameterTool.fromArgs(['--last']).has('last')).toBe(true);
  });

  it('takes a negative number as a value, not as the next key', () => {
    const params = ParameterTool.fromArgs(['--offset', '-5', '--ratio', '-0.25', '--from', '-x']);
    expect(params.getInt('offset')).toBe(-5);
    expect(params.getDouble('ratio')).toBe(-0.25);
    expect(params.has('from')).toBe(true);
    expect(params.has('x')).toBe(true);
  });

  it('skips the node binary and the script when given process.argv itself or a copy', () => {
    process.argv = ['/usr/bin/node', '/jobs/word-count.ts', '--input', 'a.txt'];
    expect(ParameterTool.fromArgs(process.argv).toMap()).toEqual(new Map([['input', 'a.txt']]));
    expect(ParameterTool.fromArgs([...process.argv]).get('input')).toBe('a.txt');
    expect(ParameterTool.fromArgs(process.argv.slice(2)).get('input')).toBe('a.txt');
  });

  it('keeps the last value of a repeated key', () => {
    expect(ParameterTool.fromArgs(['--n', '1', '--n', '2']).getInt('n')).toBe(2);
  });

  it('refuses arguments that are not keys, naming them', () => {
    expect(parameterError(() => ParameterTool.fromArgs(['input', 'a.txt'])).message).toMatch(
      /on 'input'\. Please prefix keys with -- or -/u,
    );
    expect(parameterError(() => ParameterTool.fromArgs(['--', 'x'])).message).toMatch(/empty argument/u);
  });
});

describe('ParameterTool getters', () => {
  const params = () =>
    ParameterTool.fromArgs([
      '--n',
      '42',
      '--big',
      '9007199254740991',
      '--pi',
      '3.14',
      '--on',
      'TRUE',
      '--flag',
    ]);

  it('parse typed values and fall back to defaults only when the key is absent', () => {
    const p = params();
    expect(p.getInt('n')).toBe(42);
    expect(p.getLong('big')).toBe(Number.MAX_SAFE_INTEGER);
    expect(p.getFloat('pi')).toBeCloseTo(3.14);
    expect(p.getDouble('pi')).toBeCloseTo(3.14);
    expect(p.getBoolean('on')).toBe(true);
    expect(p.getInt('absent', 7)).toBe(7);
    expect(p.getInt('n', 7)).toBe(42);
    expect(p.getBoolean('absent', true)).toBe(true);
    expect(p.get('absent', 'fallback')).toBe('fallback');
    expect(p.get('n', 'fallback')).toBe('42');
    expect(p.getRequired('n')).toBe('42');
  });

  it('read a flag given without a value as Flink does: has() is true, getBoolean() is false', () => {
    const p = params();
    expect(p.has('flag')).toBe(true);
    expect(p.getBoolean('flag')).toBe(false);
  });

  it('name the key and the value when a value is missing or of the wrong type', () => {
    const p = params();
    expect(parameterError(() => p.getRequired('input')).message).toBe(
      "No data for required key 'input': pass --input <value> to the job.",
    );
    expect(parameterError(() => p.getInt('input')).message).toMatch(/'input'/u);
    expect(parameterError(() => p.getInt('pi')).message).toBe(
      "parameter 'pi' is '3.14', which is not an integer.",
    );
    expect(parameterError(() => p.getInt('big')).message).toMatch(/not an integer/u);
    expect(parameterError(() => p.getDouble('on')).message).toBe(
      "parameter 'on' is 'TRUE', which is not a number.",
    );
    expect(parameterError(() => p.getInt('on', 3)).message).toMatch(/'on' is 'TRUE'/u);
  });

  it('track the parameters no one asked for', () => {
    const p = params();
    p.get('n');
    p.has('pi');
    p.getBoolean('absent', false);
    expect([...p.getUnrequestedParameters()].sort()).toEqual(['big', 'flag', 'on']);
  });
});

describe('ParameterTool maps', () => {
  it('fromMap takes a Map or a plain object of strings, and toMap gives a copy back', () => {
    const fromObject = ParameterTool.fromMap({ a: '1', b: 'two' });
    expect(fromObject.getInt('a')).toBe(1);
    const map = fromObject.toMap();
    map.set('c', '3');
    expect(fromObject.has('c')).toBe(false);
    expect(ParameterTool.fromMap(new Map([['x', 'y']])).get('x')).toBe('y');
    expect(
      parameterError(() => ParameterTool.fromMap({ n: 5 } as unknown as Record<string, string>)).message,
    ).toMatch(/'n' is a number, not a string/u);
  });

  it('mergeWith lets the other’s values win and keeps what both asked for', () => {
    const base = ParameterTool.fromArgs(['--a', '1', '--b', '2']);
    const override = ParameterTool.fromArgs(['--b', '3', '--c', '4']);
    base.get('a');
    const merged = base.mergeWith(override);
    expect(Object.fromEntries(merged.toMap())).toEqual({ a: '1', b: '3', c: '4' });
    expect([...merged.getUnrequestedParameters()].sort()).toEqual(['b', 'c']);
    expect(base.get('b')).toBe('2');
  });

  it('is the form in which global job parameters travel: its map, checked to be strings', () => {
    expect(parametersAsRecord(ParameterTool.fromArgs(['--k', 'v']))).toEqual({ k: 'v' });
    expect(parametersAsRecord(new GlobalJobParameters())).toEqual({});
    class Custom extends GlobalJobParameters {
      override toMap() {
        return new Map([['started', String(1234)]]);
      }
    }
    expect(parametersAsRecord(new Custom())).toEqual({ started: '1234' });
    class Numbers extends GlobalJobParameters {
      override toMap() {
        return { n: 5 } as unknown as Map<string, string>;
      }
    }
    expect(() => parametersAsRecord(new Numbers())).toThrow(/global job parameter "n" is not a string/u);
    expect(() => parametersAsRecord({} as GlobalJobParameters)).toThrow(/needs a ParameterTool/u);
  });
});

describe('MultipleParameterTool', () => {
  it('keeps every value of a repeated key; as a map, the last one', () => {
    const params = MultipleParameterTool.fromArgs(['--input', 'a.txt', '--input', 'b.txt', '--n', '3']);
    expect(params.getMultiParameter('input')).toEqual(['a.txt', 'b.txt']);
    expect(params.getMultiParameterRequired('input')).toEqual(['a.txt', 'b.txt']);
    expect(params.getInt('n')).toBe(3);
    expect(Object.fromEntries(params.toMap())).toEqual({ input: 'b.txt', n: '3' });
    expect(params.getMultiParameter('absent')).toBeUndefined();
  });

  it('refuses get() of a key given several times, and a required key that is missing', () => {
    const params = MultipleParameterTool.fromArgs(['--input', 'a.txt', '--input', 'b.txt']);
    expect(parameterError(() => params.get('input')).message).toMatch(/Key input should has only one value/u);
    expect(parameterError(() => params.getMultiParameterRequired('output')).message).toMatch(
      /No data for required key 'output'/u,
    );
  });

  it('mergeWith appends the other’s values', () => {
    const merged = MultipleParameterTool.fromArgs(['--input', 'a']).mergeWith(
      MultipleParameterTool.fromArgs(['--input', 'b', '--n', '1']),
    );
    expect(merged.getMultiParameter('input')).toEqual(['a', 'b']);
    expect(merged.get('n')).toBe('1');
  });
});

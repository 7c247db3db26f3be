/** Program arguments given as one string (JarRunRequestBody's `programArgs`), split as Flink's JarHandlerUtils. */
import { describe, expect, it } from 'vitest';
import { tokenizeArguments } from './jar-handlers.js';

describe('tokenizeArguments', () => {
  it('splits on runs of whitespace, keeping quoted parts together without their quotes', () => {
    expect(tokenizeArguments('')).toEqual([]);
    expect(tokenizeArguments('  a\tb\nc  ')).toEqual(['a', 'b', 'c']);
    expect(tokenizeArguments(`--name "two words" --path '/a b/c' ""`)).toEqual([
      '--name',
      'two words',
      '--path',
      '/a b/c',
      '',
    ]);
  });
});

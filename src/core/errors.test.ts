/** Keeps the error-code registry and docs/errors.md in step, so no code ships undocumented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SluiceError } from './errors.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
// Other `##` headings (an overview, say) are allowed; only code headings are matched.
const documented = [...docs.matchAll(/^## (SLUICE_\S*)\s*$/gmu)].map((match) => match[1]!);
const registered = Object.keys(ErrorCodes);

describe('error codes', () => {
  it('documents every registered code', () => {
    expect(registered.filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('registers every documented code', () => {
    expect(documented.filter((code) => !registered.includes(code))).toEqual([]);
  });

  it('documents each code once', () => {
    expect(documented.filter((code, i) => documented.indexOf(code) !== i)).toEqual([]);
  });

  it('names codes SLUICE_<AREA>_<WHAT>', () => {
    for (const code of registered) expect(code).toMatch(/^SLUICE_[A-Z0-9]+_[A-Z0-9_]+$/u);
  });

  it('gives each documented code a description', () => {
    for (const section of docs.split(/^## /mu).slice(1)) {
      expect(section.split('\n').slice(1).join('\n').trim(), section.split('\n')[0]).not.toBe('');
    }
  });

  it('carries the registry classification on the error', () => {
    const error = new SluiceError('SLUICE_CONFIG_INVALID_VALUE', 'bad');
    expect(error).toMatchObject({
      code: 'SLUICE_CONFIG_INVALID_VALUE',
      classification: 'user',
      retryable: false,
    });
  });
});

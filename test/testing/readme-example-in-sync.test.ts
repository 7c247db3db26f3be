/** The README's example test is test/testing/readme-example.test.ts, character for character, so it cannot rot. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('shows test/testing/readme-example.test.ts in the README as it is', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8');
  const block = /<!-- example: test\/testing\/readme-example\.test\.ts -->\n```ts\n([\s\S]*?)```/u.exec(
    readme,
  );
  expect(block, 'README.md has the example block after its marker comment').not.toBeNull();
  expect(block![1]).toBe(example);
});

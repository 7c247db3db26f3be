// Output passed on in whole lines only, whatever pieces it arrives in.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { forwardLines } from './line-forwarder.js';

describe('forwardLines', () => {
  it('passes on whole lines only, and ends a last unterminated line', async () => {
    const from = new PassThrough();
    const chunks: string[] = [];
    forwardLines(from, (chunk) => void chunks.push(Buffer.from(chunk).toString()));
    for (const piece of ['1> a', 'b\n2> c', 'd\n1> e\n', '2> ', 'f']) from.write(piece);
    from.end();
    await new Promise((resolve) => from.once('end', resolve));
    expect(chunks).toEqual(['1> ab\n', '2> cd\n1> e\n', '2> f\n']);
    for (const chunk of chunks) expect(chunk.endsWith('\n')).toBe(true);
  });
});

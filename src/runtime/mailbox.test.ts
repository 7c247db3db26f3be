/** Mailbox: letters come out first in, first out; clear drops pending letters. */
import { describe, expect, it } from 'vitest';
import { Mailbox, type Letter } from './mailbox.js';

const letter = (description: string, log: string[] = []): Letter => ({
  description,
  run: () => log.push(description),
});

describe('Mailbox', () => {
  it('is empty at first', () => {
    const m = new Mailbox();
    expect(m.hasMail()).toBe(false);
    expect(m.take()).toBeUndefined();
  });

  it('hands letters out in FIFO order', () => {
    const m = new Mailbox();
    const log: string[] = [];
    for (const d of ['a', 'b', 'c']) m.put(letter(d, log));
    expect(m.hasMail()).toBe(true);
    for (let l = m.take(); l; l = m.take()) l.run();
    expect(log).toEqual(['a', 'b', 'c']);
    expect(m.hasMail()).toBe(false);
  });

  it('keeps FIFO order when puts and takes interleave, including letters put while running', () => {
    const m = new Mailbox();
    const order: string[] = [];
    m.put(letter('1'));
    m.put({
      description: '2',
      run: () => {
        m.put(letter('4'));
      },
    });
    expect(m.take()!.description).toBe('1');
    m.put(letter('3'));
    for (let l = m.take(); l; l = m.take()) {
      order.push(l.description);
      l.run();
    }
    expect(order).toEqual(['2', '3', '4']);
  });

  it('keeps order over many letters', () => {
    const m = new Mailbox();
    const out: string[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) m.put(letter(`${round}.${i}`));
      out.push(m.take()!.description, m.take()!.description);
    }
    while (m.hasMail()) out.push(m.take()!.description);
    const all = Array.from({ length: 50 }, (_, r) => [0, 1, 2].map((i) => `${r}.${i}`)).flat();
    expect(out).toEqual(all);
  });

  it('drops pending letters on clear and stays usable', () => {
    const m = new Mailbox();
    m.put(letter('a'));
    m.put(letter('b'));
    m.take();
    m.clear();
    expect(m.hasMail()).toBe(false);
    expect(m.take()).toBeUndefined();
    m.put(letter('c'));
    expect(m.take()!.description).toBe('c');
  });
});

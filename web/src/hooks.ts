/** Polling and routing hooks. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** How often pages re-read what they show, ms. */
export const POLL_INTERVAL_MS = 2000;

/** What a polled resource holds: the last good value, the last error, and a way to re-read now. */
export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly refresh: () => void;
}

/**
 * Reads `load()` now and every `intervalMs` after each answer (never two reads at once), until
 * the component unmounts or `key` changes. `intervalMs` 0 reads once (and on refresh).
 */
export function usePoll<T>(load: () => Promise<T>, key: string, intervalMs = POLL_INTERVAL_MS): Polled<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; key: string }>({
    data: undefined,
    error: undefined,
    key,
  });
  const wake = useRef<() => void>(() => {});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      timer = undefined;
      try {
        const data = await load();
        if (!stopped) setState({ data, error: undefined, key });
      } catch (e) {
        if (!stopped) setState((s) => ({ data: s.key === key ? s.data : undefined, error: e as Error, key }));
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(() => void tick(), intervalMs);
    };
    wake.current = () => {
      if (timer !== undefined) clearTimeout(timer);
      void tick();
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    // `load` is a new closure on every render; `key` names what it reads.
  }, [key, intervalMs]);
  const refresh = useCallback(() => wake.current(), []);
  const current = state.key === key ? state : { data: undefined, error: undefined };
  return { data: current.data, error: current.error, refresh };
}

/** The hash route as path segments: `#/job/abc/checkpoints` → ['job', 'abc', 'checkpoints']. */
export function useHashRoute(): readonly string[] {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash
    .replace(/^#\/?/u, '')
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
}

/** Which rows of a table are expanded: `isOpen(row)`, and `toggle(row)` to open or close one. */
export function useExpanded<K>(): { isOpen: (row: K) => boolean; toggle: (row: K) => void } {
  const [open, setOpen] = useState<ReadonlySet<K>>(new Set());
  return {
    isOpen: (row) => open.has(row),
    toggle: (row) =>
      setOpen((current) => {
        const next = new Set(current);
        if (!next.delete(row)) next.add(row);
        return next;
      }),
  };
}

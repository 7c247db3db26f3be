/** How the dashboard writes numbers, sizes, durations and times. */

/** Bytes as B, KB, MB, GB (1024-based, as Flink's dashboard). */
export function bytes(n: number | undefined | null): string {
  if (n === undefined || n === null || n < 0 || !Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A duration in ms as `850 ms`, `12.3 s`, `4m 05s`, `3h 02m`, `2d 1h`. */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || ms < 0 || !Number.isFinite(ms)) return 'n/a';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A timestamp (epoch ms) as local date and time; `–` when unset (Flink's -1 or 0). */
export function time(ts: number | undefined | null): string {
  if (ts === undefined || ts === null || ts <= 0) return '–';
  const d = new Date(ts);
  const pad = (x: number, n = 2) => String(x).padStart(n, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A count with thousands separators. */
export function count(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** A rate, e.g. `1,234/s`, `0.52/s`. */
export function rate(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return `${n >= 100 || n === 0 ? count(n) : n.toFixed(n >= 10 ? 1 : 2)}/s`;
}

/** A fraction 0..1 as a whole percentage. */
export function percent(fraction: number | undefined | null): string {
  if (fraction === undefined || fraction === null || !Number.isFinite(fraction)) return 'N/A';
  return `${Math.round(fraction * 100)}%`;
}

/** A timestamp's time of day only (the rows of one checkpoint are all from the same minutes). */
export function clock(ts: number | undefined | null, millis = true): string {
  if (ts === undefined || ts === null || ts <= 0) return '–';
  const d = new Date(ts);
  const pad = (x: number, n = 2) => String(x).padStart(n, '0');
  const seconds = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${seconds}.${pad(d.getMilliseconds(), 3)}` : seconds;
}

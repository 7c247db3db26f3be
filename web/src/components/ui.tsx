/** Small building blocks every page uses: badges, cards, stats, tabs, messages. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { RestError, setToken } from '../api.js';

const STATE_TONES: Readonly<Record<string, string>> = {
  RUNNING: 'blue',
  IN_PROGRESS: 'blue',
  FINISHED: 'green',
  COMPLETED: 'green',
  FAILED: 'red',
  FAILING: 'red',
  CANCELED: 'grey',
  CANCELLING: 'amber',
  CANCELING: 'amber',
  RESTARTING: 'amber',
  CREATED: 'grey',
  SCHEDULED: 'grey',
  DEPLOYING: 'amber',
  INITIALIZING: 'amber',
  RECONCILING: 'amber',
  SUSPENDED: 'grey',
};

/** A job, task or checkpoint state as a coloured pill. */
export function Badge({ state }: { state: string }) {
  const tone = STATE_TONES[state.toUpperCase()] ?? 'grey';
  return <span class={`badge badge-${tone}`}>{state}</span>;
}

/** Task counts per state, as small coloured numbers (the non-zero ones). */
export function TaskCounts({ tasks }: { tasks: Readonly<Record<string, number>> }) {
  const entries = Object.entries(tasks).filter(([k, v]) => v > 0 && k.toLowerCase() !== 'total');
  return (
    <span class="task-counts">
      {entries.map(([k, v]) => (
        <span key={k} class={`count count-${STATE_TONES[k.toUpperCase()] ?? 'grey'}`} title={k.toUpperCase()}>
          {v}
        </span>
      ))}
    </span>
  );
}

export function Card(props: {
  title?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <section class={`card ${props.class ?? ''}`}>
      {(props.title !== undefined || props.actions !== undefined) && (
        <header class="card-header">
          {props.title !== undefined && <h2>{props.title}</h2>}
          {props.actions !== undefined && <div class="card-actions">{props.actions}</div>}
        </header>
      )}
      <div class="card-body">{props.children}</div>
    </section>
  );
}

/** A labelled figure. */
export function Stat(props: {
  label: string;
  value: ComponentChildren;
  hint?: string | undefined;
  testId?: string;
}) {
  return (
    <div class="stat" data-testid={props.testId}>
      <div class="stat-value">{props.value}</div>
      <div class="stat-label">{props.label}</div>
      {props.hint !== undefined && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

/** Links as tabs; the one whose `id` is `active` is highlighted. */
export function Tabs(props: {
  tabs: readonly { id: string; label: string; href: string }[];
  active: string;
}) {
  return (
    <nav class="tabs" role="tablist">
      {props.tabs.map((t) => (
        <a
          key={t.id}
          role="tab"
          href={t.href}
          class={t.id === props.active ? 'tab active' : 'tab'}
          aria-selected={t.id === props.active}
        >
          {t.label}
        </a>
      ))}
    </nav>
  );
}

/** Asks for the REST token when the cluster wants one, then reloads with it. */
function TokenForm({ message }: { message: string }) {
  const [token, setValue] = useState('');
  return (
    <form
      class="banner banner-error token-form"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(token.trim());
        window.location.reload();
      }}
    >
      <div>{message}</div>
      <input
        class="input"
        type="password"
        placeholder="rest.authentication.token"
        autocomplete="off"
        value={token}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button class="btn btn-primary" type="submit">
        Use token
      </button>
    </form>
  );
}

export function ErrorBanner({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  if (error instanceof RestError && error.status === 401) return <TokenForm message={error.message} />;
  return (
    <div class="banner banner-error" role="alert">
      {error.message}
    </div>
  );
}

export function Loading() {
  return <div class="loading">Loading…</div>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** A key/value table (configuration, details). */
export function KeyValues({ rows }: { rows: readonly (readonly [string, ComponentChildren])[] }) {
  return (
    <table class="table kv">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

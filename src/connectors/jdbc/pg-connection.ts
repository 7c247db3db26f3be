/** A `pg` connection for the JDBC sinks, whose failures become typed errors naming the server. */
import pg from 'pg';
import { SluiceError } from '../../core/errors.js';
import type { JdbcConnectionOptions } from './jdbc-connection-options.js';

/**
 * One connection, opened on first use. A connection the server drops while idle (a terminated
 * backend) emits an error event: it is kept and thrown by the next query instead of crashing
 * the process, as an unhandled event would.
 */
export class PgConnection {
  private client: Promise<pg.Client> | undefined;
  private lost: Error | undefined;

  constructor(
    private readonly options: JdbcConnectionOptions,
    private readonly what: string,
    /**
     * Appended to the session's application_name (the URL's ApplicationName, else
     * `sluice-jdbc-sink`; PostgreSQL keeps 63 bytes of it), to find the session in pg_stat_activity.
     */
    private readonly session?: string,
  ) {}

  private open(): Promise<pg.Client> {
    return (this.client ??= (async () => {
      const config = this.options.toClientConfig();
      const base = config.application_name ?? 'sluice-jdbc-sink';
      const client = new pg.Client({
        ...config,
        application_name: this.session === undefined ? base : `${base} ${this.session}`,
      });
      client.on('error', (e) => (this.lost = e));
      try {
        await client.connect();
      } catch (e) {
        this.client = undefined;
        throw this.failure(e, 'connecting');
      }
      return client;
    })());
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> {
    const client = await this.open();
    if (this.lost) throw this.failure(this.lost, sql);
    try {
      return await client.query<R>(sql);
    } catch (e) {
      throw this.failure(e, sql);
    }
  }

  /** Drops the connection: the next query opens a new one. */
  reset(): void {
    const client = this.client;
    this.client = undefined;
    this.lost = undefined;
    void client?.then((c) => c.end()).catch(() => {});
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((c) => c.end()).catch(() => {});
  }

  /** A typed error for `e`, raised while running `sql` (cut short in the message). */
  failure(e: unknown, sql: string): SluiceError {
    if (e instanceof SluiceError) return e;
    const statement = sql.length > 200 ? `${sql.slice(0, 200)}...` : sql;
    const code = (e as { code?: string }).code;
    return new SluiceError(
      'SLUICE_CONNECTOR_FAILED',
      `${this.what}: PostgreSQL at ${this.options.describe()} failed${code ? ` (SQLSTATE ${code})` : ''}: ${(e as Error).message} [while ${statement}]`,
      { cause: e },
    );
  }
}

/** What a JDBC writer needs of its connection (a seam: tests stand in for the server's answers). */
export type PgSession = Pick<PgConnection, 'query' | 'close'>;

/** The SQLSTATE of a failure from `PgConnection` (undefined for a lost connection). */
export function sqlState(e: unknown): string | undefined {
  const cause = e instanceof SluiceError ? e.cause : e;
  return (cause as { code?: string } | undefined)?.code;
}

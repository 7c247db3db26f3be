/**
 * Where a JdbcSink connects (Flink's JdbcConnectionOptions): a JDBC URL
 * (`jdbc:postgresql://host:port/db`) or a PostgreSQL one (`postgres://user@host/db`), with user
 * and password. Built as in Flink: `new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
 * .withUrl(url).withUsername(u).withPassword(p).build()`.
 */
import type { ClientConfig } from 'pg';
import { invalidProgram } from '../../core/errors.js';

export class JdbcConnectionOptions {
  /** @internal use the builder. */
  constructor(
    readonly url: string,
    readonly driverName: string | undefined,
    readonly username: string | undefined,
    readonly password: string | undefined,
    readonly connectionCheckTimeoutSeconds: number,
  ) {}

  getDbURL(): string {
    return this.url;
  }
  getDriverName(): string | undefined {
    return this.driverName;
  }
  getUsername(): string | undefined {
    return this.username;
  }
  getPassword(): string | undefined {
    return this.password;
  }

  /** The `pg` client configuration, from the URL, its query parameters and the builder's user/password. */
  toClientConfig(): ClientConfig {
    const raw = this.url.startsWith('jdbc:') ? this.url.slice(5) : this.url;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalidProgram(
        `JdbcConnectionOptions: '${this.url}' is not a URL; expected jdbc:postgresql://host:port/database.`,
      );
    }
    if (!['postgresql:', 'postgres:'].includes(url.protocol))
      throw invalidProgram(
        `JdbcConnectionOptions: '${this.url}' is not a PostgreSQL URL; Sluice's JdbcSink speaks PostgreSQL only (jdbc:postgresql://host:port/database or postgres://...).`,
      );
    const param = (name: string) => url.searchParams.get(name) ?? undefined;
    const config: ClientConfig = {
      host: decodeURIComponent(url.hostname) || '127.0.0.1',
      port: url.port ? Number(url.port) : 5432,
      database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
      user: this.username ?? param('user') ?? (url.username ? decodeURIComponent(url.username) : undefined),
      password:
        this.password ?? param('password') ?? (url.password ? decodeURIComponent(url.password) : undefined),
      connectionTimeoutMillis: this.connectionCheckTimeoutSeconds * 1000,
      // pgjdbc's ApplicationName property: how the sink's sessions are named in pg_stat_activity.
      application_name: param('ApplicationName') ?? param('application_name'),
    };
    return config;
  }

  /** The server, for messages: never the password. */
  describe(): string {
    const c = this.toClientConfig();
    return `${c.host}:${c.port}/${c.database ?? ''}`;
  }

  static JdbcConnectionOptionsBuilder: typeof JdbcConnectionOptionsBuilder;
}

export class JdbcConnectionOptionsBuilder {
  private url: string | undefined;
  private driverName: string | undefined;
  private username: string | undefined;
  private password: string | undefined;
  private connectionCheckTimeoutSeconds = 60;

  withUrl(url: string): this {
    this.url = url;
    return this;
  }
  /** Accepted for Flink compatibility (`org.postgresql.Driver`); the `pg` client is always used. */
  withDriverName(driverName: string): this {
    this.driverName = driverName;
    return this;
  }
  withUsername(username: string): this {
    this.username = username;
    return this;
  }
  withPassword(password: string): this {
    this.password = password;
    return this;
  }
  withConnectionCheckTimeoutSeconds(seconds: number): this {
    if (!(seconds > 0))
      throw invalidProgram(
        `JdbcConnectionOptions: withConnectionCheckTimeoutSeconds must be > 0, got ${seconds}.`,
      );
    this.connectionCheckTimeoutSeconds = seconds;
    return this;
  }
  build(): JdbcConnectionOptions {
    if (!this.url)
      throw invalidProgram(
        'JdbcConnectionOptions: withUrl(jdbc:postgresql://host:port/database) is required.',
      );
    const options = new JdbcConnectionOptions(
      this.url,
      this.driverName,
      this.username,
      this.password,
      this.connectionCheckTimeoutSeconds,
    );
    options.toClientConfig(); // rejects a bad URL when the job is built, not when it runs
    return options;
  }
}

JdbcConnectionOptions.JdbcConnectionOptionsBuilder = JdbcConnectionOptionsBuilder;

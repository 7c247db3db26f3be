/**
 * Running totals per customer into PostgreSQL, exactly once: generated orders → keyBy(customer)
 * → a keyed running sum → JdbcSink.exactlyOnceSink (one prepared transaction per checkpoint,
 * committed when the checkpoint completes). A second table gets the same totals through the
 * at-least-once upsert sink (`INSERT ... ON CONFLICT ... DO UPDATE`), idempotent by key.
 *
 * Needs PostgreSQL with prepared transactions enabled (`bash scripts/setup-postgres.sh` does it
 * for a local server), then:
 * `npx sluice run examples/postgres-sink/order-totals.ts --url jdbc:postgresql://127.0.0.1:5432/test --user postgres`
 */
import pg from 'pg';
import {
  DataGeneratorSource,
  JdbcConnectionOptions,
  JdbcExactlyOnceOptions,
  JdbcExecutionOptions,
  JdbcSink,
  ParameterTool,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type JdbcStatement,
} from 'sluice';

interface Total {
  readonly customer: string;
  readonly orders: number;
  readonly amount: number;
}

const params = ParameterTool.fromArgs(process.argv);
const url = params.get('url', 'jdbc:postgresql://127.0.0.1:5432/test');
const user = params.get('user', 'postgres');
const orders = params.getInt('orders', 20_000);

const connection = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
  .withUrl(url)
  .withDriverName('org.postgresql.Driver')
  .withUsername(user)
  .withPassword(params.get('password', ''))
  .build();

// Tables for the example (a real job would find them created). The job's top level also runs
// where its tasks are deployed, so this set-up only creates what is missing, never clears.
const admin = new pg.Client(connection.toClientConfig());
await admin.connect();
await admin.query(`
  CREATE TABLE IF NOT EXISTS order_totals_log (customer text NOT NULL, orders int NOT NULL, amount bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS order_totals (customer text PRIMARY KEY, orders int NOT NULL, amount bigint NOT NULL);`);
await admin.end();

const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
env.enableCheckpointing(1000);

const totals = env
  .fromSource(
    new DataGeneratorSource((i) => ({ customer: `c${i % 50}`, amount: (i * 37) % 500 }), orders, {
      recordsPerSecond: 5000,
    }),
    WatermarkStrategy.noWatermarks(),
    'orders',
  )
  .map((o) => ({ customer: o.customer, orders: 1, amount: o.amount }))
  .keyBy((t) => t.customer)
  .reduce((a: Total, b: Total) => ({
    customer: a.customer,
    orders: a.orders + b.orders,
    amount: a.amount + b.amount,
  }));

const setTotal = (ps: JdbcStatement, t: Total) => {
  ps.setString(1, t.customer);
  ps.setInt(2, t.orders);
  ps.setLong(3, t.amount);
};

// Every running total, exactly once.
totals
  .sinkTo(
    JdbcSink.exactlyOnceSink(
      'INSERT INTO order_totals_log (customer, orders, amount) VALUES (?, ?, ?)',
      setTotal,
      JdbcExecutionOptions.builder().withBatchSize(1000).build(),
      JdbcExactlyOnceOptions.builder().withTransactionIdPrefix('order-totals').build(),
      connection,
    ),
  )
  .uid('order-totals-log');

// The latest total per customer, upserted (at-least-once, idempotent).
totals
  .sinkTo(
    JdbcSink.sink(
      'INSERT INTO order_totals (customer, orders, amount) VALUES (?, ?, ?) ' +
        'ON CONFLICT (customer) DO UPDATE SET orders = EXCLUDED.orders, amount = EXCLUDED.amount',
      setTotal,
      JdbcExecutionOptions.builder().withBatchSize(1000).withBatchIntervalMs(200).withMaxRetries(3).build(),
      connection,
    ),
  )
  .uid('order-totals-upsert');

await env.execute('OrderTotalsToPostgres');

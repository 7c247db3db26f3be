/** What the exactly-once JDBC sink stores in a checkpoint: a prepared transaction to commit. */
export interface JdbcCommittable {
  readonly transactionId: string;
  /**
   * Always true: a committable exists only once `PREPARE TRANSACTION` succeeded. So when
   * `COMMIT PREPARED` finds no such transaction, it was committed before (a replay after a
   * restore), never "not prepared yet".
   */
  readonly prepared: true;
}

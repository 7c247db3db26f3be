/**
 * Local mode: the JobManager in this process and TaskManagers as child processes on this
 * machine, started as jobs need slots (plus `slotmanager.redundant-taskmanager-num` spares) and
 * replaced when one dies or stops answering heartbeats.
 * Their stdout and stderr (print(), console.log in user functions, their logs) come out of this
 * process's, whole lines at a time. Children are tied to this process by an IPC channel: when it
 * goes away, however it goes, they exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Configuration } from '../core/configuration.js';
import { ClusterOptions } from '../core/config-options.js';
import { logger } from '../core/log.js';
import { forwardLines } from './line-forwarder.js';
import { TaskManagerRegistry } from './task-manager-registry.js';

const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** A TaskManager child process. */
export interface LocalTaskManagerProcess {
  readonly taskManagerId: string;
  /** `taskmanager-<n>`: how its log lines name it (n counts the processes this cluster started). */
  readonly label: string;
  readonly slots: number;
  readonly child: ChildProcess;
  readonly startedAt: number;
}

/** After this many TaskManagers in a row exit before registering, no more are started. */
const MAX_EARLY_EXITS = 3;
/** How long a lost TaskManager's replacement waits for recoveries to finish, at most. */
const REPLACEMENT_HOLD_MS = 10_000;
const REPLACEMENT_POLL_MS = 50;

/** A JobManager with TaskManager child processes. */
export class LocalCluster {
  private readonly processes = new Map<string, LocalTaskManagerProcess>();
  private readonly registeredIds = new Set<string>();
  private earlyExits = 0;
  private closing = false;
  private slotsPerTaskManager: number | undefined;
  /** Slots the running jobs need, as last told by `ensureSlots`. */
  private demand = 0;
  private recovering: () => boolean = () => false;
  private started = 0;
  private readonly log = logger('local-cluster');

  private constructor(
    readonly registry: TaskManagerRegistry,
    readonly secret: string,
    private readonly configuration: Configuration,
  ) {
    registry.onRegistration(() => {
      for (const tm of registry.taskManagers()) this.registeredIds.add(tm.id);
      this.earlyExits = 0;
    });
    // A child that is alive but silent (stopped, or its event loop stuck) holds its slots until
    // someone ends it; here that is us. Its exit starts the replacement.
    registry.onHeartbeatLoss((tm, reason) => {
      const entry = this.processes.get(tm.id);
      if (!entry || reason === 'connection-closed' || this.closing) return;
      if (entry.child.exitCode !== null || entry.child.signalCode !== null) return;
      this.log.warn(
        `${entry.label} (pid ${entry.child.pid}) stopped answering heartbeats; ending it and starting a replacement`,
      );
      entry.child.kill('SIGKILL');
    });
  }

  /** Starts the JobManager's RPC endpoint on a free local port, with a fresh cluster secret unless one is configured. */
  static async start(configuration: Configuration): Promise<LocalCluster> {
    const secret = configuration.get(ClusterOptions.CLUSTER_SECRET) ?? randomBytes(32).toString('hex');
    const registry = await TaskManagerRegistry.start({
      configuration,
      secret,
      host: '127.0.0.1',
      port: configuration.contains(ClusterOptions.JOB_MANAGER_RPC_PORT)
        ? configuration.get(ClusterOptions.JOB_MANAGER_RPC_PORT)
        : 0,
    });
    return new LocalCluster(registry, secret, configuration);
  }

  /** The running TaskManager processes. */
  get taskManagerProcesses(): readonly LocalTaskManagerProcess[] {
    return [...this.processes.values()];
  }

  /**
   * Makes sure TaskManagers with at least `slots` slots run or are starting: `cluster.taskmanagers`
   * of them (default: one per slot needed, at most one per core), each with
   * `taskmanager.numberOfTaskSlots` (default: enough to hold the job), plus
   * `slotmanager.redundant-taskmanager-num` more of the same size.
   */
  ensureSlots(slots: number): void {
    if (this.closing) return;
    this.demand = slots;
    if (this.slotsPerTaskManager === undefined) {
      const count =
        this.configuration.get(ClusterOptions.TASK_MANAGERS) ??
        Math.max(1, Math.min(slots, availableParallelism()));
      this.slotsPerTaskManager = this.configuration.contains(ClusterOptions.NUM_TASK_SLOTS)
        ? this.configuration.get(ClusterOptions.NUM_TASK_SLOTS)
        : Math.ceil(slots / count);
    }
    this.keepSlots();
  }

  /**
   * Starts TaskManagers until the processes running or starting hold the demand plus the
   * redundant ones' slots. As Flink's slot manager, redundancy counts slots, not processes: after
   * a loss the job takes a spare's slots and the replacement becomes the spare.
   */
  private keepSlots(): void {
    const perTaskManager = this.slotsPerTaskManager;
    if (this.closing || perTaskManager === undefined) return;
    const wanted = this.wantedSlots();
    for (let have = this.slotsStarted(); have < wanted; have += perTaskManager)
      this.spawnTaskManager(perTaskManager);
  }

  /** The jobs' slots and the redundant TaskManagers'. */
  private wantedSlots(): number {
    const redundant = this.configuration.get(ClusterOptions.REDUNDANT_TASK_MANAGERS);
    return this.demand + redundant * (this.slotsPerTaskManager ?? 0);
  }

  /** Slots of the TaskManager processes running or starting. */
  private slotsStarted(): number {
    let have = 0;
    for (const p of this.processes.values()) have += p.slots;
    return have;
  }

  /** Starts one TaskManager child with `slots` slots. */
  spawnTaskManager(slots: number): LocalTaskManagerProcess {
    const taskManagerId = randomBytes(16).toString('hex');
    const label = `taskmanager-${++this.started}`;
    const { host, port } = this.registry.address;
    const defines: string[] = [];
    for (const [key, value] of Object.entries(this.configuration.toMap({ redactSecrets: false })))
      if (key !== ClusterOptions.CLUSTER_SECRET.key && key !== ClusterOptions.NUM_TASK_SLOTS.key)
        defines.push('-D', `${key}=${value}`);
    const child = spawn(
      process.execPath,
      [
        SLUICE_BIN,
        'taskmanager',
        '--jobmanager',
        `${host}:${port}`,
        '--id',
        taskManagerId,
        '-D',
        `taskmanager.numberOfTaskSlots=${slots}`,
        ...defines,
      ],
      {
        // The secret travels in the environment, never on a command line others can read.
        env: {
          ...process.env,
          SLUICE_CLUSTER_SECRET: this.secret,
          SLUICE_LOG_LEVEL: process.env['SLUICE_LOG_LEVEL'] ?? 'warn',
          SLUICE_LOG_NAME: label,
          SLUICE_LOG_COLOR: process.env['SLUICE_LOG_COLOR'] ?? (process.stderr.isTTY ? '1' : '0'),
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Its own process group: Ctrl-C in the terminal reaches only this process, which cancels
        // the job gracefully instead of losing every TaskManager at once.
        detached: true,
      },
    );
    // Through process.stdout/stderr (not their file descriptors), so a progress line steps aside.
    forwardLines(child.stdout!, (chunk) => void process.stdout.write(chunk));
    forwardLines(child.stderr!, (chunk) => void process.stderr.write(chunk));
    // Neither the child, its pipes nor its IPC channel keeps this process alive.
    child.unref();
    child.channel?.unref();
    unrefStream(child.stdout);
    unrefStream(child.stderr);
    const entry = { taskManagerId, label, slots, child, startedAt: Date.now() };
    this.processes.set(taskManagerId, entry);
    child.once('exit', (code, signal) => this.exited(entry, code, signal));
    child.once('error', (error) => this.log.error({ err: error }, 'a TaskManager process could not start'));
    return entry;
  }

  private exited(entry: LocalTaskManagerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.processes.delete(entry.taskManagerId);
    if (this.closing) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!this.registeredIds.has(entry.taskManagerId) && ++this.earlyExits >= MAX_EARLY_EXITS) {
      this.log.error(
        `TaskManager processes keep exiting before they register (last: ${how}); not starting more`,
      );
      return;
    }
    this.log.warn(
      `${entry.label} (TaskManager ${entry.taskManagerId}) exited (${how}); starting a replacement`,
    );
    if (this.configuration.get(ClusterOptions.REDUNDANT_TASK_MANAGERS) > 0) this.replaceLater(entry.slots);
    else this.spawnTaskManager(entry.slots);
  }

  /**
   * With redundant TaskManagers a job moves to a spare's slots at once, and a process starting
   * beside its restore would take the CPU the restore needs (starting one costs about as much as
   * restoring 100 MiB on two cores): the replacement waits until no job recovers, at most
   * REPLACEMENT_HOLD_MS, and never while a job waits for slots (more TaskManagers were lost than
   * there are spares). Flink's slot manager, too, tops up redundancy by a periodic check.
   */
  private replaceLater(slots: number): void {
    const since = Date.now();
    const check = (): void => {
      if (this.closing) return;
      const hold =
        this.recovering() && !this.registry.waitingForSlots && Date.now() - since < REPLACEMENT_HOLD_MS;
      if (hold) {
        setTimeout(check, REPLACEMENT_POLL_MS).unref();
        return;
      }
      // Unless a job's demand started enough meanwhile.
      if (this.slotsPerTaskManager === undefined || this.slotsStarted() < this.wantedSlots())
        this.spawnTaskManager(slots);
      this.keepSlots();
    };
    // The JobManager notices the loss by the connection's close, which may come after the exit.
    setTimeout(check, REPLACEMENT_POLL_MS).unref();
  }

  /**
   * Holds the replacement of a lost TaskManager while `recovering` says a job is failing over or
   * restoring (only with redundant TaskManagers: without, the job waits for the replacement).
   */
  holdReplacementsWhile(recovering: () => boolean): void {
    this.recovering = recovering;
  }

  /** Stops every TaskManager and the JobManager endpoint. */
  async close(): Promise<void> {
    this.closing = true;
    this.registry.quiesce();
    const exits = [...this.processes.values()].map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          // 'close': exited, and everything it wrote has been passed on.
          if (child.exitCode !== null || child.signalCode !== null) {
            if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false)
              return resolve();
            return void child.once('close', () => resolve());
          }
          child.once('close', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        }),
    );
    await Promise.all(exits);
    await this.registry.close();
  }
}

/** Lets this process exit while a child's pipe is still open (the child exits with it). */
function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}

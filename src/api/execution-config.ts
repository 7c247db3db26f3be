/**
 * ExecutionConfig: Flink's `env.getConfig()`: the registration of the job's own classes and the
 * job's global parameters.
 */
import type { Class, TypeRegistry } from '../core/type-registry.js';
import { GlobalJobParameters, parametersAsRecord } from './global-job-parameters.js';
import { toMillis, type DurationLike } from '../core/duration.js';

/** @internal What an environment keeps behind its ExecutionConfig. */
export interface ExecutionSettings {
  readonly types: TypeRegistry;
  globalJobParameters: GlobalJobParameters;
  /** `pipeline.auto-watermark-interval` in ms, read and written in the environment's configuration. */
  autoWatermarkIntervalMs: number;
}

/** The environment's execution settings (Flink's ExecutionConfig). */
export class ExecutionConfig {
  /** Flink's nested `ExecutionConfig.GlobalJobParameters`, so `extends ExecutionConfig.GlobalJobParameters` ports as is. */
  static readonly GlobalJobParameters = GlobalJobParameters;

  /** @internal */
  constructor(private readonly settings: ExecutionSettings) {}

  /**
   * Flink's name for `env.registerType(type)`: instances of `type` keep their class when they
   * cross an exchange or sit in checkpointed state. Registered under the class's name.
   */
  registerPojoType(type: Class): this {
    this.settings.types.register(type);
    return this;
  }

  /** The registered classes, in registration order. */
  getRegisteredPojoTypes(): Class[] {
    return this.settings.types.entries().map((e) => e.cls);
  }

  /**
   * Parameters every function of the job reads with `getRuntimeContext().getGlobalJobParameters()`
   * (and the REST API shows as the job's `user-config`): a ParameterTool, or any
   * GlobalJobParameters whose `toMap()` gives strings. They travel with the job to every
   * TaskManager as that map, so values computed on the client (time, environment) arrive as set.
   */
  setGlobalJobParameters(parameters: GlobalJobParameters): this {
    parametersAsRecord(parameters); // checked now, where the mistake is
    this.settings.globalJobParameters = parameters;
    return this;
  }

  /**
   * How often periodic watermark generators emit (`pipeline.auto-watermark-interval`, Flink's
   * default 200 ms); 0 turns periodic watermarks off.
   */
  setAutoWatermarkInterval(interval: DurationLike): this {
    this.settings.autoWatermarkIntervalMs = toMillis(interval, 'setAutoWatermarkInterval');
    return this;
  }

  /** `pipeline.auto-watermark-interval` in ms. */
  getAutoWatermarkInterval(): number {
    return this.settings.autoWatermarkIntervalMs;
  }

  /** The parameters given to setGlobalJobParameters (empty until then). */
  getGlobalJobParameters(): GlobalJobParameters {
    return this.settings.globalJobParameters;
  }
}

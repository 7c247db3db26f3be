/** ExecutionConfig: Flink's `env.getConfig()`, for now the job's global parameters. */
import { GlobalJobParameters, parametersAsRecord } from './global-job-parameters.js';

/** @internal What an environment keeps behind its ExecutionConfig. */
export interface ExecutionSettings {
  globalJobParameters: GlobalJobParameters;
}

/** The environment's execution settings (Flink's ExecutionConfig). */
export class ExecutionConfig {
  /** Flink's nested `ExecutionConfig.GlobalJobParameters`, so `extends ExecutionConfig.GlobalJobParameters` ports as is. */
  static readonly GlobalJobParameters = GlobalJobParameters;

  /** @internal */
  constructor(private readonly settings: ExecutionSettings) {}

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

  /** The parameters given to setGlobalJobParameters (empty until then). */
  getGlobalJobParameters(): GlobalJobParameters {
    return this.settings.globalJobParameters;
  }
}

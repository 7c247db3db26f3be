/** ExecutionConfig: Flink's `env.getConfig()`, for now the registration of the job's own classes. */
import type { Class, TypeRegistry } from '../core/type-registry.js';

/** The environment's execution settings (Flink's ExecutionConfig). */
export class ExecutionConfig {
  /** @internal */
  constructor(private readonly types: TypeRegistry) {}

  /**
   * Flink's name for `env.registerType(type)`: instances of `type` keep their class when they
   * cross an exchange or sit in checkpointed state. Registered under the class's name.
   */
  registerPojoType(type: Class): this {
    this.types.register(type);
    return this;
  }

  /** The registered classes, in registration order. */
  getRegisteredPojoTypes(): Class[] {
    return this.types.entries().map((e) => e.cls);
  }
}

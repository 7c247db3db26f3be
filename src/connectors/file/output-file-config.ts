/** How the FileSink names its part files (Flink's `OutputFileConfig`): `<prefix>-<uid>-<n><suffix>`. */
import { SluiceError } from '../../core/errors.js';

export class OutputFileConfig {
  private constructor(
    private readonly partPrefix: string,
    private readonly partSuffix: string,
  ) {}

  static builder(): OutputFileConfigBuilder {
    return new OutputFileConfigBuilder();
  }

  getPartPrefix(): string {
    return this.partPrefix;
  }

  getPartSuffix(): string {
    return this.partSuffix;
  }

  /** @internal */
  static of(prefix: string, suffix: string): OutputFileConfig {
    return new OutputFileConfig(prefix, suffix);
  }
}

function checkName(what: string, value: unknown): string {
  if (typeof value !== 'string' || /[/\\\0]/.test(value))
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `OutputFileConfig: ${what} must be a string without '/', '\\' or NUL, got ${JSON.stringify(value)}.`,
    );
  return value;
}

/** Builds an OutputFileConfig: part prefix `part` and no suffix unless set. */
export class OutputFileConfigBuilder {
  private prefix = 'part';
  private suffix = '';

  withPartPrefix(prefix: string): this {
    this.prefix = checkName('the part prefix', prefix);
    return this;
  }

  withPartSuffix(suffix: string): this {
    this.suffix = checkName('the part suffix', suffix);
    return this;
  }

  build(): OutputFileConfig {
    return OutputFileConfig.of(this.prefix, this.suffix);
  }
}

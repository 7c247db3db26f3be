/*
 * Ported from Apache Flink (flink-examples-streaming, wordcount/util/CLI.java),
 * Copyright The Apache Software Foundation, licensed under the Apache License, Version 2.0.
 * Java's Optional is `undefined` here, Path a string and Duration milliseconds.
 */
import { ExecutionConfig, MultipleParameterTool, PipelineOptions, type RuntimeExecutionMode } from 'sluice';

/** Flink's TimeUtils.parseDuration for the forms the example takes: `500ms`, `10 s`, `1min`, `1h`. */
function parseDuration(text: string): number {
  const match = /^(\d+)\s*(ms|s|min|h)?$/u.exec(text.trim());
  if (!match) throw new Error(`--discovery-interval: '${text}' is not a duration such as 10s or 1min.`);
  const units: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
  return Number(match[1]) * units[match[2] ?? 'ms']!;
}

/**
 * A simple CLI parser for the WordCount example application.
 */
export class CLI extends ExecutionConfig.GlobalJobParameters {
  static readonly INPUT_KEY = 'input';
  static readonly OUTPUT_KEY = 'output';
  static readonly DISCOVERY_INTERVAL = 'discovery-interval';
  static readonly EXECUTION_MODE = 'execution-mode';

  static fromArgs(args: readonly string[]): CLI {
    const params = MultipleParameterTool.fromArgs(args);
    let inputs: string[] | undefined = undefined;
    if (params.has(CLI.INPUT_KEY)) {
      inputs = [...params.getMultiParameterRequired(CLI.INPUT_KEY)];
    } else {
      console.log('Executing example with default input data.');
      console.log('Use --input to specify file input.');
    }

    let output: string | undefined = undefined;
    if (params.has(CLI.OUTPUT_KEY)) {
      output = params.get(CLI.OUTPUT_KEY);
    } else {
      console.log('Printing result to stdout. Use --output to specify output path.');
    }

    let watchInterval: number | undefined = undefined;
    if (params.has(CLI.DISCOVERY_INTERVAL)) {
      watchInterval = parseDuration(params.get(CLI.DISCOVERY_INTERVAL)!);
    }

    let executionMode: RuntimeExecutionMode = PipelineOptions.RUNTIME_MODE.defaultValue;
    if (params.has(CLI.EXECUTION_MODE)) {
      executionMode = params.get(CLI.EXECUTION_MODE)!.toUpperCase() as RuntimeExecutionMode;
    }

    return new CLI(inputs, output, watchInterval, executionMode, params);
  }

  private constructor(
    private readonly inputs: string[] | undefined,
    private readonly output: string | undefined,
    private readonly discoveryInterval: number | undefined,
    private readonly executionMode: RuntimeExecutionMode,
    private readonly params: MultipleParameterTool,
  ) {
    super();
  }

  getInputs(): string[] | undefined {
    return this.inputs;
  }

  getDiscoveryInterval(): number | undefined {
    return this.discoveryInterval;
  }

  getOutput(): string | undefined {
    return this.output;
  }

  getExecutionMode(): RuntimeExecutionMode {
    return this.executionMode;
  }

  getInt(key: string): number | undefined {
    if (this.params.has(key)) {
      return this.params.getInt(key);
    }

    return undefined;
  }

  override toMap(): Map<string, string> {
    return this.params.toMap();
  }
}

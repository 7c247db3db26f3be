/*
 * Ported from Apache Flink (flink-examples-streaming, wordcount/WordCount.java), Copyright The
 * Apache Software Foundation, licensed under the Apache License, Version 2.0. Only the syntax
 * changed, except where Sluice lacks a piece (marked "Sluice:"): it has no FileSource or FileSink
 * yet. Run it with `npx sluice run examples/wordcount/word-count.ts [--execution-mode BATCH]`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CollectionSource,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type Collector,
  type DataStream,
  type FlatMapFunction,
} from 'sluice';
import { CLI } from './util/cli.js';
import { WordCountData } from './util/word-count-data.js';

/**
 * Implements the "WordCount" program that computes a simple word occurrence histogram over text
 * files. This Job can be executed in both streaming and batch execution modes.
 *
 * The input is a [list of] plain text file[s] with lines separated by a newline character.
 *
 * Usage:
 *
 * - `--input <path>` A list of input files and / or directories to read. If no input is
 *   provided, the program is run with default data from {@link WordCountData}.
 * - `--discovery-interval <duration>` Turns the file reader into a continuous source that will
 *   monitor the provided input directories every interval and read any new files.
 * - `--output <path>` The output directory where the Job will write the results. If no output
 *   path is provided, the Job will print the results to `stdout`.
 * - `--execution-mode <mode>` The execution mode (BATCH, STREAMING, or AUTOMATIC) of this
 *   pipeline.
 *
 * This example shows how to:
 *
 * - Write a simple Flink DataStream program
 * - Use tuple data types
 * - Write and use a user-defined function
 */

// *************************************************************************
// USER FUNCTIONS (declared before the program: a class is not hoisted as in Java)
// *************************************************************************

/**
 * Implements the string tokenizer that splits sentences into words as a user-defined
 * FlatMapFunction. The function takes a line (String) and splits it into multiple pairs in the
 * form of "(word,1)" (`[string, number]`).
 */
class Tokenizer implements FlatMapFunction<string, [string, number]> {
  flatMap(value: string, out: Collector<[string, number]>): void {
    // normalize and split the line
    const tokens = value.toLowerCase().split(/\W+/u);

    // emit the pairs
    for (const token of tokens) {
      if (token.length > 0) {
        out.collect([token, 1]);
      }
    }
  }
}

/** Sluice: no FileSource yet, so the files (and the files below directories) are read as lines here. */
function readLines(paths: readonly string[]): string[] {
  const files = (path: string): string[] =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .sort()
          .flatMap((name) => files(join(path, name)))
      : [path];
  return paths.flatMap(files).flatMap((file) => readFileSync(file, 'utf8').split(/\r?\n/u));
}

// *************************************************************************
// PROGRAM
// *************************************************************************

const params = CLI.fromArgs(process.argv.slice(2));

// Create the execution environment. This is the main entrypoint
// to building a Flink application.
const env = StreamExecutionEnvironment.getExecutionEnvironment();

// Apache Flink’s unified approach to stream and batch processing means that a DataStream
// application executed over bounded input will produce the same final results regardless
// of the configured execution mode. It is important to note what final means here: a job
// executing in STREAMING mode might produce incremental updates (think upserts in
// a database) while in BATCH mode, it would only produce one final result at the end. The
// final result will be the same if interpreted correctly, but getting there can be
// different.
//
// The “classic” execution behavior of the DataStream API is called STREAMING execution
// mode. Applications should use streaming execution for unbounded jobs that require
// continuous incremental processing and are expected to stay online indefinitely.
//
// By enabling BATCH execution, we allow Flink to apply additional optimizations that we
// can only do when we know that our input is bounded. For example, different
// join/aggregation strategies can be used, in addition to a different shuffle
// implementation that allows more efficient task scheduling and failure recovery behavior.
//
// By setting the runtime mode to AUTOMATIC, Flink will choose BATCH if all sources
// are bounded and otherwise STREAMING.
env.setRuntimeMode(params.getExecutionMode());

// This optional step makes the input parameters
// available in the Flink UI.
env.getConfig().setGlobalJobParameters(params);

let text: DataStream<string>;
if (params.getInputs() !== undefined) {
  // Sluice: no FileSource with TextLineInputFormat yet; the files are read when the job is built
  // (in every process that loads it), and their lines become a bounded source.
  if (params.getDiscoveryInterval() !== undefined)
    throw new Error('--discovery-interval needs a continuous file source, which Sluice does not have yet.');

  text = env.fromSource(
    new CollectionSource(readLines(params.getInputs()!)),
    WatermarkStrategy.noWatermarks(),
    'file-input',
  );
} else {
  text = env.fromData(...WordCountData.WORDS).name('in-memory-input');
}

const counts: DataStream<[string, number]> =
  // The text lines read from the source are split into words
  // using a user-defined function. The tokenizer, implemented below,
  // will output each word as a (2-tuple) containing (word, 1)
  text
    .flatMap(new Tokenizer())
    .name('tokenizer')
    // keyBy groups tuples based on the "0" field, the word.
    // Using a keyBy allows performing aggregations and other
    // stateful transformations over data on a per-key basis.
    // This is similar to a GROUP BY clause in a SQL query.
    .keyBy((value) => value[0])
    // For each key, we perform a simple sum of the "1" field, the count.
    // If the input data stream is bounded, sum will output a final count for
    // each word. If it is unbounded, it will continuously output updates
    // each time it sees a new instance of each word in the stream.
    .sum(1)
    .name('counter');

if (params.getOutput() !== undefined) {
  // Sluice: no FileSink yet, which Flink uses here to write the results to files under the
  // output directory, rolling them as they grow.
  throw new Error(
    '--output needs a FileSink, which Sluice does not have yet: leave it out to print the counts.',
  );
} else {
  counts.print().name('print-sink');
}

// Apache Flink applications are composed lazily. Calling execute
// submits the Job and begins processing.
await env.execute('WordCount');

/*
 * Files in, files out, exactly once: reads text files with a FileSource, counts words with a
 * keyed running count, and writes `word,count` lines with a FileSink into one directory per hour.
 * Part files are hidden (`.part-*.inprogress.*`) until the checkpoint that covers them completes.
 *
 *   npx sluice run examples/file-sink/word-count-to-files.ts --input <dir or file> --output <dir>
 *     [--discovery-interval <ms>]   keep watching --input for new files (an unbounded job)
 *
 * Without --input it writes a small sample to a temporary directory and reads that.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DateTimeBucketAssigner,
  DefaultRollingPolicy,
  FileSink,
  FileSource,
  KeyedProcessFunction,
  ParameterTool,
  SimpleStringEncoder,
  StreamExecutionEnvironment,
  TextLineInputFormat,
  ValueStateDescriptor,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';

/** Emits `word,count` each time a word is seen again (its running count). */
class RunningWordCount extends KeyedProcessFunction<string, string, string> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(word: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect(`${word},${c}`);
  }
}

const params = ParameterTool.fromArgs(process.argv.slice(2));
let input = params.get('input');
if (input === undefined) {
  input = mkdtempSync(join(tmpdir(), 'sluice-word-files-'));
  writeFileSync(join(input, 'hamlet.txt'), 'to be or not to be\nthat is the question\n');
  console.log(`No --input given: reading a sample from ${input}`);
}
const output = params.get('output', join(tmpdir(), 'sluice-word-counts'));

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.enableCheckpointing(1000);

let files = FileSource.forRecordStreamFormat(new TextLineInputFormat(), input);
if (params.has('discovery-interval')) files = files.monitorContinuously(params.getInt('discovery-interval'));

env
  .fromSource(files.build(), WatermarkStrategy.noWatermarks(), 'text files')
  .flatMap((line: string, out: Collector<string>) => {
    for (const word of line.toLowerCase().split(/\W+/u)) if (word.length > 0) out.collect(word);
  })
  .keyBy((word) => word)
  .process(new RunningWordCount())
  .sinkTo(
    FileSink.forRowFormat(output, new SimpleStringEncoder<string>())
      .withBucketAssigner(new DateTimeBucketAssigner('yyyy-MM-dd--HH'))
      .withRollingPolicy(
        DefaultRollingPolicy.builder()
          .withRolloverInterval(15 * 60 * 1000)
          .withInactivityInterval(5 * 60 * 1000)
          .withMaxPartSize(1024 * 1024 * 1024)
          .build(),
      )
      .build(),
  )
  .name('word counts');

await env.execute('word count to files');
console.log(`Finished part files are under ${output}`);

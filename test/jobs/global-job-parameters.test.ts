// env.getConfig().setGlobalJobParameters(params): every function reads them, through Flink 2.x's
// getRuntimeContext().getGlobalJobParameters() or Flink 1.x's getExecutionConfig(); they are
// taken when the job is submitted, and must be strings.
import { describe, expect, it } from 'vitest';
import { GlobalJobParameters, ParameterTool, RichMapFunction } from 'sluice';
import { envAt, expectSameMultiset, throwsWith } from '../support/helpers.js';

class Scale extends RichMapFunction<number, string> {
  private factor = 1;
  private unit = '';
  open() {
    const ctx = this.getRuntimeContext();
    this.unit = ctx.getGlobalJobParameters().get('unit') ?? '?';
    // Flink 1.x: ((ParameterTool) getExecutionConfig().getGlobalJobParameters()).getInt("factor")
    this.factor = (ctx.getExecutionConfig().getGlobalJobParameters() as ParameterTool).getInt('factor', 1);
  }
  map(value: number) {
    return `${value * this.factor}${this.unit}`;
  }
}

describe('global job parameters', () => {
  it('are read by every subtask, in both of Flink’s ways', async () => {
    const env = envAt(3);
    env.getConfig().setGlobalJobParameters(ParameterTool.fromArgs(['--factor', '10', '--unit', 'ms']));
    const result = env.fromSequence(1, 6).map(new Scale()).collectAsync();
    await env.execute();
    expectSameMultiset(await result.toArray(), ['10ms', '20ms', '30ms', '40ms', '50ms', '60ms']);
  });

  it('are taken when the job is submitted: the next job sees later ones, none means empty', async () => {
    const env = envAt(1);
    const first = env.fromElements(1).map(new Scale()).collectAsync();
    await env.execute();
    expect(await first.toArray()).toEqual(['1?']);
    env.getConfig().setGlobalJobParameters(ParameterTool.fromMap({ factor: '2', unit: 's' }));
    const second = env.fromElements(1).map(new Scale()).collectAsync();
    const client = await env.executeAsync();
    env.getConfig().setGlobalJobParameters(ParameterTool.fromMap({ factor: '3', unit: 'h' }));
    await client.getJobExecutionResult();
    expect(await second.toArray()).toEqual(['2s']);
  });

  it('must be strings: a custom GlobalJobParameters whose map holds numbers is refused at once', () => {
    class Numbers extends GlobalJobParameters {
      override toMap() {
        return new Map([['factor', 2 as unknown as string]]);
      }
    }
    const error = throwsWith(
      () => envAt(1).getConfig().setGlobalJobParameters(new Numbers()),
      'SLUICE_PROGRAM_INVALID',
    );
    expect(error.message).toMatch(/global job parameter "factor" is not a string key with a string value/u);
  });
});

/**
 * The figures of this Node.js process under the names Flink's dashboard reads for a JVM
 * (`Status.JVM.Memory.Heap.Used`, `Status.JVM.CPU.Load`, …), mapped to what Node measures, plus
 * Node's own (event-loop delay and utilisation) under `Status.Node.*`. docs/metrics.md lists the
 * mapping.
 */
import {
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/** Collects one process's metrics; `start()` begins sampling the event loop and GC, `stop()` ends it. */
export class ProcessMetrics {
  private delay: IntervalHistogram | undefined;
  private gc: PerformanceObserver | undefined;
  private gcCount = 0;
  private gcTimeMs = 0;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();
  private lastElu = performance.eventLoopUtilization();
  private cpuLoad = 0;
  private utilization = 0;

  start(): this {
    if (this.delay) return this;
    this.delay = monitorEventLoopDelay({ resolution: 20 });
    this.delay.enable();
    this.gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcCount++;
        this.gcTimeMs += entry.duration;
      }
    });
    this.gc.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    this.delay?.disable();
    this.delay = undefined;
    this.gc?.disconnect();
    this.gc = undefined;
  }

  /** The figures now; CPU load and event-loop utilisation are over the time since the last call. */
  read(): Record<string, number> {
    const memory = process.memoryUsage();
    const heap = getHeapStatistics();
    const now = performance.now();
    const cpu = process.cpuUsage();
    const elapsedMs = now - this.lastCpuAt;
    if (elapsedMs >= 100) {
      const usedMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
      this.cpuLoad = Math.min(1, usedMs / elapsedMs / availableParallelism());
      const elu = performance.eventLoopUtilization(this.lastElu);
      this.utilization = elu.utilization;
      this.lastElu = performance.eventLoopUtilization();
      this.lastCpu = cpu;
      this.lastCpuAt = now;
    }
    const delay = this.delay;
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
    return {
      'Status.JVM.Memory.Heap.Used': memory.heapUsed,
      'Status.JVM.Memory.Heap.Committed': memory.heapTotal,
      'Status.JVM.Memory.Heap.Max': heap.heap_size_limit,
      // Outside the V8 heap: Buffers and other C++ objects bound to JavaScript ones.
      'Status.JVM.Memory.NonHeap.Used': memory.external,
      'Status.JVM.Memory.NonHeap.Committed': memory.external,
      'Status.JVM.Memory.NonHeap.Max': -1,
      'Status.JVM.Memory.Direct.MemoryUsed': memory.arrayBuffers,
      'Status.JVM.Memory.Direct.TotalCapacity': memory.arrayBuffers,
      'Status.JVM.Memory.Direct.Count': -1,
      'Status.JVM.Memory.Mapped.MemoryUsed': 0,
      'Status.JVM.Memory.Mapped.TotalCapacity': 0,
      'Status.JVM.Memory.Mapped.Count': 0,
      'Status.JVM.Memory.Metaspace.Used': 0,
      'Status.JVM.Memory.Metaspace.Max': -1,
      'Status.JVM.Threads.Count': 1,
      'Status.JVM.CPU.Load': this.cpuLoad,
      'Status.JVM.CPU.Time': (cpu.user + cpu.system) * 1000,
      'Status.JVM.GarbageCollector.V8.Count': this.gcCount,
      'Status.JVM.GarbageCollector.V8.Time': Math.round(this.gcTimeMs),
      'Status.Process.RSS': memory.rss,
      'Status.Node.EventLoop.Utilization': this.utilization,
      'Status.Node.EventLoop.Delay.Mean': delay ? ms(delay.mean) : 0,
      'Status.Node.EventLoop.Delay.P99': delay ? ms(delay.percentile(99)) : 0,
      'Status.Node.EventLoop.Delay.Max': delay ? ms(delay.max) : 0,
    };
  }
}

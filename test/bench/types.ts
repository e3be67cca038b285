/**
 * One measured figure of a benchmark. `ratio` > 1 means interp is better than the peer
 * (faster, or less memory); null when the peer is missing, which the table says explicitly.
 */
export interface BenchRow {
  /** Benchmark name: runtime, engine, capture, probes, sae, steer, memory. */
  readonly bench: string;
  /** Which case within the benchmark, e.g. `matmul 4096x768x3072 NN`. */
  readonly case: string;
  /** What was measured, e.g. `GFLOPS`, `tokens/s`, `peak_rss`. */
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The peer's name, e.g. `torch 1.13 + OpenBLAS`, or null when there is none for this row. */
  readonly peer: string | null;
  readonly peer_value: number | null;
  readonly ratio: number | null;
}

/** A benchmark module exports `run`, which yields rows as they are measured. */
export type BenchRun = (args: readonly string[]) => AsyncIterable<BenchRow>;

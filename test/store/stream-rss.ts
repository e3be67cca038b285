/**
 * Child process for the memory test in reader.test.ts: streams a capture in a fresh process
 * (so the writer's freed buffers do not hide growth) and prints RSS before and at peak, in bytes.
 * Run with --expose-gc: a collection every 4 batches makes the number measure what the reader
 * retains rather than how lazily V8 frees yielded batches (which varies with machine load).
 * argv: capture dir, hook.
 */
import { openCapture } from '../../src/store/index.js';

const [dir, hook] = [process.argv[2], process.argv[3]];
const c = openCapture(dir);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
gc();
const before = process.memoryUsage().rss;
let seen = 0;
let peak = before;
let rows = 0;
for (const b of c.batches({ batchRows: 256, columns: [] })) {
  rows += b.rows;
  peak = Math.max(peak, process.memoryUsage().rss);
  if (++seen % 4 === 0) gc();
}
for (const b of c.shuffledBatches({ hooks: hook, batchRows: 512, seed: 1 })) {
  rows += b.rows;
  peak = Math.max(peak, process.memoryUsage().rss);
  if (++seen % 4 === 0) gc();
}
c.close();
process.stdout.write(JSON.stringify({ before, peak, rows }));

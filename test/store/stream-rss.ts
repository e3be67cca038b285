/**
 * Child process for the memory test in reader.test.ts: streams a capture in a fresh process
 * (so the writer's freed buffers do not hide growth) and prints RSS before and at peak, in bytes.
 * argv: capture dir, hook.
 */
import { openCapture } from '../../src/store/index.js';

const [dir, hook] = [process.argv[2], process.argv[3]];
const c = openCapture(dir);
const before = process.memoryUsage().rss;
let peak = before;
let rows = 0;
for (const b of c.batches({ batchRows: 256, columns: [] })) {
  rows += b.rows;
  peak = Math.max(peak, process.memoryUsage().rss);
}
for (const b of c.shuffledBatches({ hooks: hook, batchRows: 512, seed: 1 })) {
  rows += b.rows;
  peak = Math.max(peak, process.memoryUsage().rss);
}
c.close();
process.stdout.write(JSON.stringify({ before, peak, rows }));

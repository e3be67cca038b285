/**
 * Child process for the kill -9 test in writer.test.ts: writes the synthetic capture one
 * sequence pair at a time, then idles until killed. argv: capture dir, sequence count.
 */
import { CaptureWriter } from '../../src/store/index.js';
import { batch, header } from './store-helpers.js';

const [dir, nSeq] = [process.argv[2], Number(process.argv[3])];
const w = CaptureWriter.open(dir, header({ dtype: 'f32' }), { shardRows: 20, recordBatchRows: 7 });
for (let s = 0; s < nSeq; s += 2) {
  w.append(batch(s, Math.min(nSeq, s + 2)));
  // Slow down so that the kill lands mid-capture.
  const until = Date.now() + 10;
  while (Date.now() < until);
}
setInterval(() => {}, 1000);

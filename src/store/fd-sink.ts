import fs from 'node:fs';
import { AsyncByteQueue } from 'apache-arrow';

/**
 * A sink for apache-arrow's RecordBatch{File,Stream}Writer (`writer.reset(new FdSink(fd))`)
 * that writes each chunk to a file descriptor as it is produced, so a shard is never held
 * twice in memory (the default sink collects every chunk until the end).
 */
export class FdSink extends AsyncByteQueue {
  constructor(private readonly fd: number) {
    super();
  }
  override write(value: Parameters<AsyncByteQueue['write']>[0]): void {
    const bytes = value as Uint8Array;
    let done = 0;
    while (done < bytes.byteLength) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done);
  }
}

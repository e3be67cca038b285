/**
 * Progress on stderr for long work. Library code reports through the Progress callback type and
 * never draws; the CLI turns it into a bar (cli-progress) only when stderr is a terminal, and
 * into a line every few seconds otherwise, so logs of CI runs stay readable.
 */
import cliProgress from 'cli-progress';

/** What long-running library functions call: done so far, of total (in `unit`s). */
export type Progress = (done: number, total: number) => void;

export interface ProgressBar {
  readonly update: Progress;
  stop(): void;
}

export function progressBar(label: string, unit: string): ProgressBar {
  const start = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(done, total) {
        const rate = (done / Math.max((Date.now() - start) / 1000, 1e-3)).toFixed(0);
        if (!started) { bar.start(total, done, { rate }); started = true; }
        bar.setTotal(total);
        bar.update(done, { rate });
      },
      stop() { if (started) bar.stop(); },
    };
  }
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 5000 && done < total) return;
      last = now;
      const secs = (now - start) / 1000;
      const rate = done / Math.max(secs, 1e-3);
      const eta = rate > 0 ? (total - done) / rate : 0;
      process.stderr.write(`${label}: ${done}/${total} ${unit} (${rate.toFixed(0)} ${unit}/s, ETA ${eta.toFixed(0)} s)\n`);
    },
    stop() {},
  };
}

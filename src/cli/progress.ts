/**
 * Progress on stderr for long work. Library code reports through the Progress callback type and
 * never draws; the CLI turns it into a bar (cli-progress) only when stderr is a terminal, and
 * into a line every few seconds otherwise, so logs of CI runs stay readable.
 */
import cliProgress from 'cli-progress';
import type { Progress } from '../util/progress.js';

export type { Progress };

/**
 * A rate people can read: "12 tokens/s", or for slow units "8.0 s/hook" instead of "0 hooks/s".
 * `unit` is the plural; a rate under 1/s is shown as seconds per one unit.
 */
export function formatRate(done: number, seconds: number, unit: string): string {
  if (done <= 0 || seconds <= 0) return `– ${unit}/s`;
  const rate = done / seconds;
  if (rate >= 10) return `${rate.toFixed(0)} ${unit}/s`;
  if (rate >= 1) return `${rate.toFixed(1)} ${unit}/s`;
  return `${(seconds / done).toFixed(1)} s/${unit.replace(/s$/, '')}`;
}

export interface ProgressBar {
  readonly update: Progress;
  stop(): void;
}

export function progressBar(label: string, unit: string): ProgressBar {
  const start = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {value}/{total} ${unit} | {rate} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(done, total) {
        const rate = formatRate(done, (Date.now() - start) / 1000, unit);
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
      const eta = done > 0 ? ((total - done) * secs) / done : null;
      process.stderr.write(`${label}: ${done}/${total} ${unit} (${formatRate(done, secs, unit)}, ETA ${eta === null ? '–' : `${eta.toFixed(0)} s`})\n`);
    },
    stop() {},
  };
}

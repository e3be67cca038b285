/**
 * How long-running library code reports progress: a callback, never a drawing. The CLI turns it
 * into a bar on stderr (src/cli/progress.ts); tests and scripts pass their own or none.
 */

/** What long-running library functions call: done so far, of total (in the caller's units). */
export type Progress = (done: number, total: number) => void;

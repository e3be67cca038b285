/**
 * Where the shared parity fixtures live (../shared/fixtures beside the repository). Tests that
 * need them skip with a message when the folder is absent (a user's fresh clone); CI has it.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES = path.resolve(REPO_ROOT, '../shared/fixtures');

/** Path of a fixture folder, or null (with a console note) when ../shared/fixtures is absent. */
export function fixture(name: string): string | null {
  const dir = path.join(FIXTURES, name);
  if (existsSync(dir)) return dir;
  console.warn(`skipping: parity fixture ${dir} is absent (it ships in ../shared/fixtures beside the repository; CI has it)`);
  return null;
}

/** Points the weight cache at a fresh temporary folder for this test process. */
export function isolateCache(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-cache-'));
  process.env.INTERP_CACHE_DIR = dir;
  return dir;
}

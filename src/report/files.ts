/**
 * Where reports go and how they are written: the reports directory, report names, atomic
 * writes (temporary name, then rename, so a reader never sees half a page) and the local
 * copy of plotly that pages load instead of a CDN.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { writeFileAtomic as writeDurableFile } from '../util/atomic-write.js';

/** Writes a report file whole or not at all, creating its folder (src/util/atomic-write.ts does the writing). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeDurableFile(file, data, { mkdir: true });
}

/** The reports directory: the option, else $INTERP_REPORTS_DIR, else reports/ in the working directory. */
export function resolveReportsDir(dir?: string): string {
  return path.resolve(dir ?? process.env.INTERP_REPORTS_DIR ?? 'reports');
}

/** Where plotly lives inside a reports directory; pages refer to it relatively. */
export const PLOTLY_ASSET = 'assets/plotly.min.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/**
 * The page file for a report name such as "capture-run1" or "probes/sweep-3" (subfolders allowed),
 * relative to the reports directory, with forward slashes.
 */
export function reportFile(name: string): string {
  const base = name.endsWith('.html') ? name.slice(0, -'.html'.length) : name;
  if (!NAME.test(base) || base === 'index' || base.split('/')[0] === 'assets' || base.length > 200) {
    throw new UsageError(
      `report name ${JSON.stringify(name)} is not usable as a file name under the reports directory`,
      'use letters, digits, ".", "_", "-" and "/" for subfolders (no leading dot; not "index" or "assets/…"); slugify(text) makes one from any text',
    );
  }
  return `${base}.html`;
}

/** A report name made from any text: lower case, runs of other characters replaced by "-". */
export function slugify(text: string): string {
  const slug = text.toLowerCase().replace(/[^a-z0-9._]+/g, '-').replace(/^[-._]+|-+$/g, '').slice(0, 120);
  return slug.length > 0 ? slug : 'report';
}

/** The URL of `target` relative to the folder of `fromFile` (both absolute paths), for href and src. */
export function relativeUrl(fromFile: string, target: string): string {
  const rel = path.relative(path.dirname(fromFile), target).split(path.sep);
  return rel.map(encodeURIComponent).join('/');
}

function plotlySource(): string {
  try {
    return createRequire(import.meta.url).resolve('plotly.js-dist-min');
  } catch {
    throw new EnvironmentError(
      'plotly.js-dist-min is not installed, so reports cannot include their plotting library',
      'run npm install in the interp folder (plotly.js-dist-min is one of its dependencies)',
    );
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b).catch(() => null)]);
  if (sb === null || sa.size !== sb.size) return false;
  const digest = async (f: string): Promise<string> => createHash('sha256').update(await fs.readFile(f)).digest('hex');
  return (await digest(a)) === (await digest(b));
}

/** Copies plotly.min.js into <reportsDir>/assets/ unless an identical copy is there; returns its path. */
export async function ensurePlotlyAsset(reportsDir: string): Promise<string> {
  const source = plotlySource();
  const target = path.join(reportsDir, PLOTLY_ASSET);
  if (!(await sameBytes(source, target))) writeFileAtomic(target, await fs.readFile(source));
  return target;
}

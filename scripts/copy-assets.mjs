// Copies non-TypeScript assets that the compiled code reads at run time (WGSL kernels, JSON
// tables) from the source tree into dist/, keeping their relative paths.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname, extname } from 'node:path';

const ROOTS = ['src', 'probes', 'sae', 'steering', 'datasets'];
const EXTENSIONS = new Set(['.wgsl']);
// Single data files read beside their module (fileURLToPath(new URL('./x.json', import.meta.url))).
const FILES = ['sae/releases.json'];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (EXTENSIONS.has(extname(name))) {
      const target = join('dist', path);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
    }
  }
}
for (const root of ROOTS) {
  try { walk(root); } catch (e) { if (e.code !== 'ENOENT') throw e; }
}
for (const path of FILES) {
  const target = join('dist', path);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(path, target);
}

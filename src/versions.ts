/** Versions recorded in every manifest: interp's own, onnxruntime's, Node's. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function packageVersion(pkgJson: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(pkgJson), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** interp's version, read from its package.json (two levels up from dist/src or src). */
function interpVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'interp' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

export function versions(): { interp: string; onnxruntime: string; node: string } {
  return { interp: interpVersion(), onnxruntime: packageVersion('onnxruntime-node/package.json'), node: process.versions.node };
}

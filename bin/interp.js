#!/usr/bin/env node
// Entry point of the `interp` command: runs the compiled CLI (npm install builds it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('interp: the compiled CLI is missing (dist/src/cli.js). Run `npm install` (or `npm run build`) in the interp folder first.');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv);

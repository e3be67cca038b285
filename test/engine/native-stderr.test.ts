/**
 * Dawn's informational adapter warnings are dropped from stderr and anything else written to fd 2
 * in the same call is kept; JavaScript's own stderr works before and after. Run in a child whose
 * stderr is a pipe (as under a CI log), a file, and a socket (left unfiltered).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const DAWN = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

describe.skipIf(process.platform !== 'linux')('filterNativeStderr', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'interp-stderr-'));
  const script = path.join(dir, 'child.ts');
  writeFileSync(script, [
    `import * as fs from 'node:fs';`,
    `import { filterNativeStderr } from ${JSON.stringify(path.join(REPO_ROOT, 'src/engine/native-stderr.ts'))};`,
    `process.stderr.write('before\\n');`,
    `const value = filterNativeStderr(() => { fs.writeSync(2, ${JSON.stringify(`${DAWN}\n`)} + 'a real problem\\n'); return 42; });`,
    `process.stderr.write('after ' + value + '\\n');`,
  ].join('\n'));

  it('drops the informational lines and keeps the rest (stderr a shell pipe)', async () => {
    const { stdout } = await run('/bin/sh', ['-c', `"${process.execPath}" --import tsx "${script}" 2>&1 >/dev/null | cat`], { cwd: REPO_ROOT });
    expect(stdout).toBe('before\na real problem\nafter 42\n');
  });

  it('leaves stderr alone when it cannot be reopened (a socket, as Node gives its children)', async () => {
    const { stderr } = await run(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT });
    expect(stderr).toBe(`before\n${DAWN}\na real problem\nafter 42\n`);
  });

  it('does the same when stderr is a file', async () => {
    const log = path.join(dir, 'err.log');
    await run('/bin/sh', ['-c', `"${process.execPath}" --import tsx "${script}" 2>"${log}"`], { cwd: REPO_ROOT });
    expect(readFileSync(log, 'utf8')).toBe('before\na real problem\nafter 42\n');
  });
});

/**
 * `interp doctor [--json]`: checks what interp needs from the machine and names the command that
 * installs whatever is missing. Checks are data: each is a DoctorCheck in CHECKS; adding one
 * (Chromium for the report tests, …) is a new entry. Exits non-zero when a required check fails.
 */
import type { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { adapterReport } from '../engine/doctor.js';
import { DEVICE_HINTS, RUNTIME_DEVICES, probeDevice } from '../runtime/device.js';
import { action, printJson } from './action.js';
import type { CommandSpec } from './command.js';

/** The outcome of one check. */
export interface CheckResult {
  /** The check's name, e.g. "webgpu". */
  readonly name: string;
  readonly ok: boolean;
  /** A failed required check makes `interp doctor` exit non-zero. */
  readonly required: boolean;
  /** One line for the table. */
  readonly summary: string;
  /** Further lines (limits, versions). */
  readonly details: readonly string[];
  /** What to install or change when not ok. */
  readonly fix?: string;
  /** The machine-readable report behind the lines (for --json). */
  readonly data: unknown;
}

/** One thing `interp doctor` checks. */
export interface DoctorCheck {
  readonly name: string;
  readonly run: () => Promise<CheckResult>;
}

const MiB = 1024 * 1024;

export const webgpuCheck: DoctorCheck = {
  name: 'webgpu',
  async run() {
    const r = await adapterReport();
    if (!r.found) return { name: 'webgpu', ok: false, required: true, summary: 'no WebGPU adapter', details: [], fix: r.fix, data: r };
    const l = r.limits;
    return {
      name: 'webgpu',
      ok: true,
      required: true,
      summary: `${r.description || r.device} (${r.vendor}, ${r.architecture}, ${r.kind === 'cpu' ? 'software/CPU' : 'GPU'}, backend ${r.backend})`,
      details: [
        `max storage binding ${(l.maxStorageBufferBindingSize / MiB).toFixed(0)} MiB, max buffer ${(l.maxBufferSize / MiB).toFixed(0)} MiB`,
        `workgroup storage ${l.maxComputeWorkgroupStorageSize} B, ${l.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${l.maxComputeWorkgroupsPerDimension} workgroups/dimension`,
        `shader-f16: ${r.shaderF16 ? 'yes' : 'no'}; subgroups: ${r.subgroups ? `yes${r.subgroupSizes ? ` (size ${r.subgroupSizes[0]}–${r.subgroupSizes[1]})` : ''}` : 'no'}`,
      ],
      data: r,
    };
  },
};

/**
 * The devices the runtime can run a model on (`--device`): each is opened with a one-node graph.
 * Only cpu is required; a missing GPU provider is reported with what installs it.
 */
export const runtimeDevicesCheck: DoctorCheck = {
  name: 'runtime devices',
  async run() {
    const probes = [];
    for (const device of RUNTIME_DEVICES) probes.push({ device, ...(await probeDevice(device)) });
    const usable = probes.filter((p) => p.ok).map((p) => p.device);
    return {
      name: 'runtime devices',
      ok: usable.includes('cpu'),
      required: true,
      summary: `--device ${usable.join(', ')} (onnxruntime-node ${ort.env.versions.common})`,
      details: probes.flatMap((p) => (p.ok ? [] : [`${p.device}: not available (${p.reason}); ${p.fix}`])),
      ...(usable.includes('cpu') ? {} : { fix: DEVICE_HINTS.cpu }),
      data: probes,
    };
  },
};

/** Every check, in the order printed. */
export const CHECKS: readonly DoctorCheck[] = [webgpuCheck, runtimeDevicesCheck];

async function run(flags: { json?: boolean }): Promise<void> {
  const results: CheckResult[] = [];
  for (const check of CHECKS) results.push(await check.run());
  const failed = results.some((r) => r.required && !r.ok);
  if (flags.json) printJson({ ok: !failed, checks: results.map(({ name, ok, required, summary, fix, data }) => ({ name, ok, required, summary, fix, report: data })) });
  else {
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}: ${r.summary}\n`);
      for (const line of r.details) process.stdout.write(`        ${line}\n`);
      if (!r.ok && r.fix) process.stdout.write(`        fix: ${r.fix}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  register(program: Command) {
    program
      .command('doctor')
      .description('check the WebGPU adapter (and other prerequisites) and say how to install what is missing')
      .option('--json', 'print JSON on stdout')
      .action(action((flags: { json?: boolean }) => run(flags)));
  },
};

/**
 * Every hook point interp exposes, declared once. Names are TransformerLens' so that SAEs and
 * steering vectors trained elsewhere find their hook; `interp hooks` prints this table. No hook
 * string literal appears elsewhere: code refers to hooks through `hookName()` and HOOKS.
 *
 * Vocabulary: b = batch, p = positions (query positions), t = key positions (past + p),
 * d = d_model, h = attention heads, kv = key/value heads, dh = d_head, m = d_mlp, V = vocab.
 */
import { UnknownHookError } from '../errors.js';

/** Model families that the runtime builds. */
export type FamilyName = 'gpt2' | 'llama';

/** A feature of a family's architecture that decides whether a hook exists. */
export type ArchFeature = 'absolute_positions' | 'rotary' | 'gated_mlp' | 'sequential_block';

export interface HookPointSpec {
  /** Template of the full name; `{L}` is the 0-based layer. */
  readonly template: string;
  /** The TransformerLens short name (`get_act_name`): `resid_post` → `blocks.L.hook_resid_post`. */
  readonly short: string;
  /** Shape in this file's vocabulary. */
  readonly shape: readonly ShapeDim[];
  /** Where the value sits, in one line. */
  readonly where: string;
  /** Present only when the architecture has this feature. */
  readonly requires?: ArchFeature;
}

/** Symbolic dimensions of hook shapes. */
export type ShapeDim = 'b' | 'p' | 't' | 'd' | 'h' | 'kv' | 'dh' | 'm' | 'V';

/** Model-level and per-block hook points in forward order. */
export const HOOKS: readonly HookPointSpec[] = [
  { template: 'hook_embed', short: 'embed', shape: ['b', 'p', 'd'], where: 'token embedding W_E[ids]' },
  { template: 'hook_pos_embed', short: 'pos_embed', shape: ['b', 'p', 'd'], where: 'learned position embedding W_pos[positions]', requires: 'absolute_positions' },
  { template: 'blocks.{L}.hook_resid_pre', short: 'resid_pre', shape: ['b', 'p', 'd'], where: 'residual stream entering block L' },
  { template: 'blocks.{L}.ln1.hook_normalized', short: 'normalized.ln1', shape: ['b', 'p', 'd'], where: 'first norm output before its weight and bias' },
  { template: 'blocks.{L}.attn.hook_q', short: 'q', shape: ['b', 'p', 'h', 'dh'], where: 'queries, before rotary embedding' },
  { template: 'blocks.{L}.attn.hook_k', short: 'k', shape: ['b', 'p', 'kv', 'dh'], where: 'keys of this step, before rotary embedding and before GQA repetition' },
  { template: 'blocks.{L}.attn.hook_v', short: 'v', shape: ['b', 'p', 'kv', 'dh'], where: 'values of this step, before GQA repetition' },
  { template: 'blocks.{L}.attn.hook_rot_q', short: 'rot_q', shape: ['b', 'p', 'h', 'dh'], where: 'queries after rotary embedding', requires: 'rotary' },
  { template: 'blocks.{L}.attn.hook_rot_k', short: 'rot_k', shape: ['b', 'p', 'kv', 'dh'], where: 'keys after rotary embedding', requires: 'rotary' },
  { template: 'blocks.{L}.attn.hook_attn_scores', short: 'attn_scores', shape: ['b', 'h', 'p', 't'], where: 'q·k/√dh after the causal and padding mask (masked = most negative float), before softmax' },
  { template: 'blocks.{L}.attn.hook_pattern', short: 'pattern', shape: ['b', 'h', 'p', 't'], where: 'attention probabilities (softmax of the scores); masked entries are exactly 0' },
  { template: 'blocks.{L}.attn.hook_z', short: 'z', shape: ['b', 'p', 'h', 'dh'], where: 'pattern · v per head, the input of the output projection' },
  { template: 'blocks.{L}.hook_attn_out', short: 'attn_out', shape: ['b', 'p', 'd'], where: 'attention output after the output projection (and its bias)' },
  { template: 'blocks.{L}.hook_resid_mid', short: 'resid_mid', shape: ['b', 'p', 'd'], where: 'resid_pre + attn_out', requires: 'sequential_block' },
  { template: 'blocks.{L}.ln2.hook_normalized', short: 'normalized.ln2', shape: ['b', 'p', 'd'], where: 'second norm output before its weight and bias' },
  { template: 'blocks.{L}.mlp.hook_pre', short: 'pre', shape: ['b', 'p', 'm'], where: 'MLP pre-activation (gate projection in gated MLPs)' },
  { template: 'blocks.{L}.mlp.hook_pre_linear', short: 'pre_linear', shape: ['b', 'p', 'm'], where: 'up projection of a gated MLP', requires: 'gated_mlp' },
  { template: 'blocks.{L}.mlp.hook_post', short: 'post', shape: ['b', 'p', 'm'], where: 'MLP hidden activation: act(pre), or act(gate)·up when gated' },
  { template: 'blocks.{L}.hook_mlp_out', short: 'mlp_out', shape: ['b', 'p', 'd'], where: 'MLP output after its down projection' },
  { template: 'blocks.{L}.hook_resid_post', short: 'resid_post', shape: ['b', 'p', 'd'], where: 'residual stream leaving block L' },
  { template: 'ln_final.hook_normalized', short: 'normalized.ln_final', shape: ['b', 'p', 'd'], where: 'final norm output before its weight and bias' },
  { template: 'logits', short: 'logits', shape: ['b', 'p', 'V'], where: 'unembedding output' },
];

/** The spec of a template, by template string. */
const BY_TEMPLATE = new Map(HOOKS.map((h) => [h.template, h]));

/** Template of a hook in layer L, e.g. hookName('blocks.{L}.hook_resid_post', 3). */
export function hookName(template: string, layer?: number): string {
  const spec = BY_TEMPLATE.get(template);
  if (!spec) throw new Error(`hookName: ${template} is not declared in HOOKS`);
  if (template.includes('{L}')) {
    if (layer === undefined) throw new Error(`hookName: ${template} needs a layer`);
    return template.replace('{L}', String(layer));
  }
  return template;
}

/** A concrete hook point of one model. */
export interface HookPoint {
  /** Full TransformerLens name, e.g. `blocks.3.attn.hook_pattern`. */
  readonly name: string;
  /** Layer, or null for model-level hooks. */
  readonly layer: number | null;
  readonly spec: HookPointSpec;
  /** Position in forward order (used to sort and to find the deepest requested hook). */
  readonly order: number;
}

/** What decides which hooks a model has. */
export interface HookInventoryOptions {
  readonly nLayers: number;
  readonly features: ReadonlySet<ArchFeature>;
}

/** Every hook point of a model, in forward order. */
export function listHookPoints(opts: HookInventoryOptions): HookPoint[] {
  const out: HookPoint[] = [];
  const have = (s: HookPointSpec) => s.requires === undefined || opts.features.has(s.requires);
  const pre = HOOKS.filter((s) => !s.template.includes('{L}') && s.template.startsWith('hook_'));
  const block = HOOKS.filter((s) => s.template.includes('{L}'));
  const post = HOOKS.filter((s) => !s.template.includes('{L}') && !s.template.startsWith('hook_'));
  for (const s of pre.filter(have)) out.push({ name: s.template, layer: null, spec: s, order: out.length });
  for (let L = 0; L < opts.nLayers; L++) {
    for (const s of block.filter(have)) out.push({ name: s.template.replace('{L}', String(L)), layer: L, spec: s, order: out.length });
  }
  for (const s of post.filter(have)) out.push({ name: s.template, layer: null, spec: s, order: out.length });
  return out;
}

/**
 * Resolves a full or short hook name (TransformerLens' get_act_name forms: `resid_post.6`,
 * `pattern.3`, `normalized.2.ln1`, `embed`) to a hook point of this model. Unknown names raise
 * UnknownHookError with the nearest valid name.
 */
export function resolveHook(points: readonly HookPoint[], name: string): HookPoint {
  const byName = new Map(points.map((p) => [p.name, p]));
  const direct = byName.get(name);
  if (direct) return direct;
  const full = expandShortName(name);
  const viaShort = full === null ? undefined : byName.get(full);
  if (viaShort) return viaShort;
  const nearest = nearestName(points.map((p) => p.name), full ?? name);
  throw new UnknownHookError(
    `unknown hook "${name}": this model has no such hook point`,
    `use a TransformerLens name such as ${nearest ? `"${nearest}" (the nearest)` : '"blocks.0.hook_resid_post"'}; \`interp hooks --model DIR\` lists them all`,
  );
}

/** `resid_post.6` → `blocks.6.hook_resid_post`; `normalized.2.ln1` → `blocks.2.ln1.hook_normalized`. */
function expandShortName(name: string): string | null {
  const parts = name.split('.');
  for (const spec of HOOKS) {
    const shortParts = spec.short.split('.');
    const kind = shortParts[0];
    const qualifier = shortParts[1];
    if (parts[0] !== kind) continue;
    if (!spec.template.includes('{L}')) {
      if (parts.length === 1 && qualifier === undefined) return spec.template;
      if (parts.length === 2 && parts[1] === qualifier) return spec.template;
      continue;
    }
    if (parts.length < 2 || !/^\d+$/.test(parts[1])) continue;
    if (qualifier !== undefined && parts[2] !== qualifier) continue;
    if (qualifier === undefined && parts.length !== 2) continue;
    return spec.template.replace('{L}', parts[1]);
  }
  return null;
}

/** The candidate with the smallest edit distance to `name` (null when none is close). */
export function nearestName(candidates: readonly string[], name: string): string | null {
  let best: string | null = null;
  let bestDist = Infinity;
  for (const c of candidates) {
    const dist = editDistance(c, name);
    if (dist < bestDist) {
      bestDist = dist;
      best = c;
    }
  }
  return best !== null && bestDist <= Math.max(3, Math.floor(name.length / 2)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

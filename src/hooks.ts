/**
 * Every hook point interp exposes, declared once. Names are TransformerLens' so that SAEs and
 * steering vectors trained elsewhere find their hook; `interp hooks` prints this table. No hook
 * string literal appears elsewhere: code refers to hooks through `hookName()` and HOOKS.
 *
 * Vocabulary: b = batch, p = positions (query positions), t = key positions (past + p),
 * d = d_model, h = attention heads, kv = key/value heads, dh = d_head, m = d_mlp, V = vocab.
 */
import { UnknownHookError } from './errors.js';

/** Model families that the runtime builds. */
export type FamilyName = 'gpt2' | 'llama' | 'gpt_neox' | 'gemma';

/**
 * A feature of a family's architecture that decides whether a hook exists (or what it holds).
 * `sequential_block`: the MLP reads resid_pre + attn_out (GPT-2, Llama, Gemma), so resid_mid
 * exists; a parallel block (GPT-NeoX) feeds both branches from resid_pre. `post_norms`: attention
 * and MLP outputs pass through their own norm before joining the residual (Gemma 2 and 3).
 * `qk_norm`: queries and keys are RMS-normalised per head before rotary (Qwen3, Gemma 3).
 * `embed_scale`: the token embedding is multiplied by √d_model (Gemma).
 */
export type ArchFeature = 'absolute_positions' | 'rotary' | 'gated_mlp' | 'sequential_block' | 'post_norms' | 'qk_norm' | 'embed_scale';

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
  /** What the value holds instead of `where` in an architecture with the feature (the first listed feature it has wins). */
  readonly whereWith?: Readonly<Partial<Record<ArchFeature, string>>>;
}

/** Symbolic dimensions of hook shapes. */
export type ShapeDim = 'b' | 'p' | 't' | 'd' | 'h' | 'kv' | 'dh' | 'm' | 'V' | 1;

/** Model-level and per-block hook points in forward order. */
export const HOOKS: readonly HookPointSpec[] = [
  { template: 'hook_embed', short: 'embed', shape: ['b', 'p', 'd'], where: 'token embedding W_E[ids]', whereWith: { embed_scale: 'token embedding W_E[ids] · √d_model (the scaled value that enters block 0)' } },
  { template: 'hook_pos_embed', short: 'pos_embed', shape: ['b', 'p', 'd'], where: 'learned position embedding W_pos[positions]', requires: 'absolute_positions' },
  { template: 'blocks.{L}.hook_resid_pre', short: 'resid_pre', shape: ['b', 'p', 'd'], where: 'residual stream entering block L' },
  { template: 'blocks.{L}.ln1.hook_scale', short: 'scale.ln1', shape: ['b', 'p', 1], where: 'first norm\'s divisor: √(var + eps) for LayerNorm, √(mean(x²) + eps) for RMSNorm' },
  { template: 'blocks.{L}.ln1.hook_normalized', short: 'normalized.ln1', shape: ['b', 'p', 'd'], where: 'first norm output before its weight and bias' },
  { template: 'blocks.{L}.attn.hook_q', short: 'q', shape: ['b', 'p', 'h', 'dh'], where: 'queries as projected, before rotary embedding', whereWith: { qk_norm: 'queries as projected, before the per-head q norm and rotary embedding' } },
  { template: 'blocks.{L}.attn.hook_k', short: 'k', shape: ['b', 'p', 'kv', 'dh'], where: 'keys of this step as projected, before rotary embedding and before GQA repetition', whereWith: { qk_norm: 'keys of this step as projected, before the per-head k norm, rotary embedding and GQA repetition' } },
  { template: 'blocks.{L}.attn.hook_v', short: 'v', shape: ['b', 'p', 'kv', 'dh'], where: 'values of this step, before GQA repetition' },
  { template: 'blocks.{L}.attn.hook_rot_q', short: 'rot_q', shape: ['b', 'p', 'h', 'dh'], where: 'queries after rotary embedding', requires: 'rotary', whereWith: { qk_norm: 'queries after the per-head q norm and rotary embedding' } },
  { template: 'blocks.{L}.attn.hook_rot_k', short: 'rot_k', shape: ['b', 'p', 'kv', 'dh'], where: 'keys of this step after rotary embedding (under a KV cache: the new positions only; the cached keys were rotated when they were new)', requires: 'rotary', whereWith: { qk_norm: 'keys of this step after the per-head k norm and rotary embedding (under a KV cache: the new positions only)' } },
  { template: 'blocks.{L}.attn.hook_attn_scores', short: 'attn_scores', shape: ['b', 'h', 'p', 't'], where: 'q·k / √d_head (or / √query_pre_attn_scalar), soft-capped where the model soft-caps, after the causal, sliding-window and padding mask (masked = −inf), before softmax' },
  { template: 'blocks.{L}.attn.hook_pattern', short: 'pattern', shape: ['b', 'h', 'p', 't'], where: 'attention probabilities (softmax of the scores); masked entries are exactly 0' },
  { template: 'blocks.{L}.attn.hook_z', short: 'z', shape: ['b', 'p', 'h', 'dh'], where: 'pattern · v per head, the input of the output projection' },
  { template: 'blocks.{L}.ln1_post.hook_scale', short: 'scale.ln1_post', shape: ['b', 'p', 1], where: 'post-attention norm\'s divisor √(mean(x²) + eps)', requires: 'post_norms' },
  { template: 'blocks.{L}.ln1_post.hook_normalized', short: 'normalized.ln1_post', shape: ['b', 'p', 'd'], where: 'post-attention norm output before its weight', requires: 'post_norms' },
  { template: 'blocks.{L}.hook_attn_out', short: 'attn_out', shape: ['b', 'p', 'd'], where: 'attention output after the output projection (and its bias): what is added to the residual', whereWith: { post_norms: 'attention output after the output projection and the post-attention norm (ln1_post): what is added to the residual' } },
  { template: 'blocks.{L}.hook_resid_mid', short: 'resid_mid', shape: ['b', 'p', 'd'], where: 'resid_pre + attn_out (absent in parallel blocks, whose MLP reads resid_pre)', requires: 'sequential_block' },
  { template: 'blocks.{L}.ln2.hook_scale', short: 'scale.ln2', shape: ['b', 'p', 1], where: 'second norm\'s divisor (as ln1.hook_scale); in a parallel block the second norm reads resid_pre' },
  { template: 'blocks.{L}.ln2.hook_normalized', short: 'normalized.ln2', shape: ['b', 'p', 'd'], where: 'second norm output before its weight and bias' },
  { template: 'blocks.{L}.mlp.hook_pre', short: 'pre', shape: ['b', 'p', 'm'], where: 'MLP pre-activation (gate projection in gated MLPs)' },
  { template: 'blocks.{L}.mlp.hook_pre_linear', short: 'pre_linear', shape: ['b', 'p', 'm'], where: 'up projection of a gated MLP', requires: 'gated_mlp' },
  { template: 'blocks.{L}.mlp.hook_post', short: 'post', shape: ['b', 'p', 'm'], where: 'MLP hidden activation: act(pre), or act(gate)·up when gated' },
  { template: 'blocks.{L}.ln2_post.hook_scale', short: 'scale.ln2_post', shape: ['b', 'p', 1], where: 'post-MLP norm\'s divisor √(mean(x²) + eps)', requires: 'post_norms' },
  { template: 'blocks.{L}.ln2_post.hook_normalized', short: 'normalized.ln2_post', shape: ['b', 'p', 'd'], where: 'post-MLP norm output before its weight', requires: 'post_norms' },
  { template: 'blocks.{L}.hook_mlp_out', short: 'mlp_out', shape: ['b', 'p', 'd'], where: 'MLP output after its down projection: what is added to the residual', whereWith: { post_norms: 'MLP output after its down projection and the post-MLP norm (ln2_post): what is added to the residual' } },
  { template: 'blocks.{L}.hook_resid_post', short: 'resid_post', shape: ['b', 'p', 'd'], where: 'residual stream leaving block L: resid_mid + mlp_out, or resid_pre + attn_out + mlp_out in a parallel block' },
  { template: 'ln_final.hook_scale', short: 'scale.ln_final', shape: ['b', 'p', 1], where: 'final norm\'s divisor (as ln1.hook_scale)' },
  { template: 'ln_final.hook_normalized', short: 'normalized.ln_final', shape: ['b', 'p', 'd'], where: 'final norm output before its weight and bias' },
  { template: 'logits', short: 'logits', shape: ['b', 'p', 'V'], where: 'unembedding output (after the final soft-cap in models that soft-cap logits)' },
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
  /** What the value holds in this model (spec.where, or its variant for the model's features). */
  readonly where: string;
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
  const where = (s: HookPointSpec) => {
    for (const [feature, text] of Object.entries(s.whereWith ?? {})) if (opts.features.has(feature as ArchFeature) && text) return text;
    return s.where;
  };
  const pre = HOOKS.filter((s) => !s.template.includes('{L}') && s.template.startsWith('hook_'));
  const block = HOOKS.filter((s) => s.template.includes('{L}'));
  const post = HOOKS.filter((s) => !s.template.includes('{L}') && !s.template.startsWith('hook_'));
  for (const s of pre.filter(have)) out.push({ name: s.template, layer: null, spec: s, where: where(s), order: out.length });
  for (let L = 0; L < opts.nLayers; L++) {
    for (const s of block.filter(have)) out.push({ name: s.template.replace('{L}', String(L)), layer: L, spec: s, where: where(s), order: out.length });
  }
  for (const s of post.filter(have)) out.push({ name: s.template, layer: null, spec: s, where: where(s), order: out.length });
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
  const full = expandHookName(name);
  const viaShort = full === null ? undefined : byName.get(full);
  if (viaShort) return viaShort;
  const nearest = nearestName(points.map((p) => p.name), full ?? name);
  throw new UnknownHookError(
    `unknown hook "${name}": this model has no such hook point`,
    `use a TransformerLens name such as ${nearest ? `"${nearest}" (the nearest)` : '"blocks.0.hook_resid_post"'}; \`interp hooks --model DIR\` lists them all`,
  );
}

/**
 * TransformerLens' get_act_name(name, layer, layer_type) (transformer_lens/utils.py): the act name
 * is aliased (attn → pattern, attn_logits → attn_scores, key/query/value → k/q/v, mlp_pre/mlp_post
 * → pre/post), attention and MLP names get their sub-module, and a norm name (scale, normalized)
 * without a layer is ln_final's. Layer-type aliases: a → attn, m → mlp, b/block/blocks → none.
 */
export function getActName(name: string, layer?: number, layerType?: string): string {
  const actAlias: Readonly<Record<string, string>> = { attn: 'pattern', attn_logits: 'attn_scores', key: 'k', query: 'q', value: 'v', mlp_pre: 'pre', mlp_mid: 'mid', mlp_post: 'post' };
  const typeAlias: Readonly<Record<string, string>> = { a: 'attn', m: 'mlp', b: '', block: '', blocks: '', attention: 'attn' };
  const act = actAlias[name] ?? name;
  let type = layerType ?? '';
  if (['k', 'v', 'q', 'z', 'rot_k', 'rot_q', 'result', 'pattern', 'attn_scores'].includes(act)) type = 'attn';
  else if (['pre', 'post', 'mid', 'pre_linear'].includes(act)) type = 'mlp';
  else if (type in typeAlias) type = typeAlias[type];
  let full = layer === undefined ? '' : `blocks.${layer}.`;
  if (type) full += `${type}.`;
  full += `hook_${act}`;
  if ((act === 'scale' || act === 'normalized') && layer === undefined) full = `ln_final.${full}`;
  return full;
}

/**
 * Short forms to full names, as get_act_name reads them: `resid_post.6` (name, layer),
 * `normalized.2.ln1` / `scale.2.ln1` (name, layer, layer type), `pattern3` and `k6a` (its compact
 * form: letters, digits, a layer type), `scale` (ln_final), `embed`. Null when the form is none of these.
 */
export function expandHookName(name: string): string | null {
  if (name === 'logits') return name;
  const dotted = /^([a-z_]+)(?:\.(\d+))?(?:\.([a-z_0-9]+))?$/.exec(name);
  const compact = /^([a-z]+)(\d+)([a-z_0-9]*)$/.exec(name);
  const parts = dotted ?? compact;
  if (!parts) return null;
  const [, act, layer, type] = parts;
  if (layer === undefined) {
    if (type !== undefined) return `${type}.hook_${act}`; // `normalized.ln_final`
    return act === 'scale' || act === 'normalized' ? getActName(act) : `hook_${act}`;
  }
  return getActName(act, Number(layer), type || undefined);
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

/**
 * Up to `max` candidates close to `name` by the same edit-distance rule as nearestName, nearest
 * first (ties keep the candidates' order): for "did you mean" lists of several names.
 */
export function nearestNames(candidates: readonly string[], name: string, max = 5): string[] {
  const limit = Math.max(3, Math.floor(name.length / 2));
  return candidates
    .map((c, i) => ({ c, i, dist: editDistance(c, name) }))
    .filter((x) => x.dist <= limit)
    .sort((a, b) => a.dist - b.dist || a.i - b.i)
    .slice(0, max)
    .map((x) => x.c);
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

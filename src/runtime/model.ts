/**
 * HookedTransformer: a loaded checkpoint that runs forward passes on onnxruntime-node with
 * TransformerLens hook points. A run names the hooks it wants and the interventions it applies;
 * the runtime builds (and caches) one ONNX graph per such plan, pruned to what the run needs.
 * JavaScript function hooks split the forward pass into segments at their hooks: each segment
 * starts from the residual stream entering the hook's block plus the hook's (edited) value.
 *
 * Vocabulary: b = batch, p = positions of this step, t = key positions (past + p), d = d_model.
 */
import { deviceError, executionProviders, runtimeDevice, type RuntimeDevice } from './device.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../errors.js';
import { openModel } from '../model/index.js';
import type { ModelSource, OpenModelOptions } from '../model/index.js';
import { DEFAULT_POLICY, attentionMask, encodePrompt, makeBatch } from './batch.js';
import type { TokenBatch, TokenizerPolicy } from './batch.js';
import { buildGraph, hookDims, inputType } from './build.js';
import type { BuiltGraph, GraphPlan } from './build.js';
import { openFamily } from './families/index.js';
import type { ArchConfig, BoundFamily } from './families/index.js';
import { hookName, listHookPoints, resolveHook } from '../hooks.js';
import type { HookPoint } from '../hooks.js';
import { checkReturned, interventionFeeds, toGraphIntervention } from './interventions.js';
import type { Intervention, StepInfo } from './interventions.js';
import type { HostTensor } from './tensor.js';
import { prepareWeightCache } from './weight-cache.js';
import type { WeightCache } from './weight-cache.js';

export interface LoadOptions extends OpenModelOptions {
  /** How text prompts become ids; defaults match TransformerLens. */
  readonly policy?: Partial<TokenizerPolicy>;
  /** onnxruntime intra-op threads (default: onnxruntime's choice, all cores). */
  readonly threads?: number;
  /** Where the graphs run (device.ts): cpu (default, or INTERP_DEVICE), webgpu or cuda. */
  readonly device?: RuntimeDevice | string;
}

/** Keys and values of every layer so far, [b, kv, t, dh] each, plus which keys are real. */
export interface KvCache {
  readonly keys: readonly HostTensor[];
  readonly values: readonly HostTensor[];
  /** 1 where key j of row r is a real token, [b, t]. */
  readonly attention: Uint8Array;
  readonly length: number;
}

/** One forward step's tokens: the whole batch (no cache) or the new tokens of a generation step. */
export interface StepInput {
  /** Token ids, [b, p]. */
  readonly ids: BigInt64Array;
  /** 1 for real tokens, [b, p]. */
  readonly attention: Uint8Array;
  /** Absolute positions, [b, p]. */
  readonly positionIds: BigInt64Array;
  readonly batch: number;
  readonly positions: number;
}

export interface RunOptions {
  /** Hook names (full or short) whose values to return. */
  readonly fetch?: readonly string[];
  /** Whether to compute logits (default true). Without logits, the pass stops after the deepest fetched hook. */
  readonly logits?: boolean;
  readonly interventions?: readonly Intervention[];
}

export interface StepOptions extends RunOptions {
  /** Keys/values from earlier steps; null or absent starts from an empty cache. */
  readonly cache?: KvCache | null;
  /** Return the updated cache (generation). */
  readonly keepCache?: boolean;
}

export interface RunResult {
  /** [b, p, V], or null when not asked for. */
  readonly logits: HostTensor | null;
  /** Fetched hook values by full name, in the padded layout of the batch. */
  readonly hooks: ReadonlyMap<string, HostTensor>;
}

export interface StepResult extends RunResult {
  readonly cache: KvCache | null;
}

/** Most graphs a model keeps loaded at once; each holds its own copy of the weights it uses. */
const MAX_SESSIONS = 6;

export class HookedTransformer {
  readonly hookPoints: readonly HookPoint[];
  private readonly pointsByName: ReadonlyMap<string, HookPoint>;
  private readonly sessions = new Map<string, { session: ort.InferenceSession; graph: BuiltGraph }>();

  private constructor(
    readonly source: ModelSource,
    readonly family: BoundFamily,
    private readonly weights: WeightCache,
    readonly policy: TokenizerPolicy,
    private readonly threads: number | undefined,
    /** The device every inference session of this model runs on. */
    readonly device: RuntimeDevice = 'cpu',
  ) {
    this.hookPoints = listHookPoints({ nLayers: family.config.nLayers, features: family.config.features });
    this.pointsByName = new Map(this.hookPoints.map((p) => [p.name, p]));
  }

  /** Opens a model directory or hub id, checks every weight against the config, and prepares its weight cache. */
  static async load(spec: string, options: LoadOptions = {}): Promise<HookedTransformer> {
    const device = runtimeDevice(options.device);
    const source = await openModel(spec, options);
    const family = openFamily(source.config, path.join(source.dir, 'config.json'));
    const specs = family.weightSpecs(new Set(source.weights.tensors.keys()));
    const weights = prepareWeightCache(source, specs, family.ignoredKeys);
    return new HookedTransformer(source, family, weights, { ...DEFAULT_POLICY, ...options.policy }, options.threads, device);
  }

  get config(): ArchConfig {
    return this.family.config;
  }

  /** Resolves a full or short hook name; unknown names raise UnknownHookError with the nearest name. */
  hook(name: string): HookPoint {
    return resolveHook(this.hookPoints, name);
  }

  /** Encodes text prompts under the model's TokenizerPolicy (BOS prepended once, truncation). */
  encode(text: string): number[] {
    const tokenizer = this.source.tokenizer;
    if (!tokenizer) throw new UsageError(`${this.source.dir} has no tokenizer.json`, 'pass token ids instead of text, or add the tokenizer.json that belongs to this model');
    return encodePrompt(tokenizer, text, this.policy, this.source.generation.bosTokenId);
  }

  /** Pads id sequences into a batch with the policy's padding side. */
  batch(seqs: readonly (readonly number[])[]): TokenBatch {
    const gen = this.source.generation;
    const padId = gen.padTokenId ?? gen.eosTokenIds[0] ?? 0;
    return makeBatch(seqs, padId, this.config.vocabSize, this.policy.paddingSide);
  }

  /** Runs a batch of id sequences (padded per the policy) and returns logits and fetched hooks. */
  async run(seqs: readonly (readonly number[])[] | TokenBatch, options: RunOptions = {}): Promise<RunResult> {
    const batch = 'ids' in seqs ? seqs : this.batch(seqs);
    const { logits, hooks } = await this.step({ ids: batch.ids, attention: batch.attention, positionIds: batch.positionIds, batch: batch.batch, positions: batch.positions }, options);
    return { logits, hooks };
  }

  /**
   * One forward step over `input`, optionally continuing from a KV cache. The building block of
   * run() and generation.
   */
  async step(input: StepInput, options: StepOptions = {}): Promise<StepResult> {
    const { batch: b, positions: p } = input;
    const past = options.cache ?? null;
    const pastLen = past?.length ?? 0;
    const t = pastLen + p;
    const keyAttention = new Uint8Array(b * t);
    for (let r = 0; r < b; r++) {
      if (past) keyAttention.set(past.attention.subarray(r * pastLen, (r + 1) * pastLen), r * t);
      keyAttention.set(input.attention.subarray(r * p, (r + 1) * p), r * t + pastLen);
    }
    const mask = attentionMask(keyAttention, b, p, t);
    const window = this.config.slidingWindow;
    const info: StepInfo = { batch: b, positions: p, keys: t, positionIds: input.positionIds, real: input.attention };
    const fetch = (options.fetch ?? []).map((n) => this.hook(n).name);
    const wantLogits = options.logits ?? true;
    const interventions = (options.interventions ?? []).map((iv) => ({ ...iv, hook: this.hook(iv.hook).name }));
    const useCache = options.keepCache === true || past !== null;

    const compiled = interventions.filter((iv): iv is Exclude<Intervention, { kind: 'function' }> => iv.kind !== 'function');
    const functions = interventions.filter((iv): iv is Extract<Intervention, { kind: 'function' }> => iv.kind === 'function');
    const cuts = [...new Set(functions.map((f) => f.hook))].map((n) => this.pointsByName.get(n) as HookPoint).sort((a, c) => a.order - c.order);

    const base: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.ids, [b, p]),
      position_ids: new ort.Tensor('int64', input.positionIds, [b, p]),
      attention_mask: new ort.Tensor('bool', mask, [b, 1, p, t]),
      ...(window === null ? {} : { sliding_mask: new ort.Tensor('bool', attentionMask(keyAttention, b, p, t, window), [b, 1, p, t]) }),
    };
    compiled.forEach((iv, i) => Object.assign(base, interventionFeeds(iv, i, this.pointsByName.get(iv.hook) as HookPoint, this.concreteShape(iv.hook, b, p, t), info)));
    for (let L = 0; L < this.config.nLayers && useCache; L++) {
      const empty = new Float32Array(0);
      const kv = [b, this.config.nKvHeads, pastLen, this.config.dHead];
      base[`past.${L}.k`] = new ort.Tensor('float32', past ? past.keys[L].data : empty, kv);
      base[`past.${L}.v`] = new ort.Tensor('float32', past ? past.values[L].data : empty, kv);
    }

    const hooks = new Map<string, HostTensor>();
    const presentK: HostTensor[] = [];
    const presentV: HostTensor[] = [];
    let logits: HostTensor | null = null;
    const carried: Record<string, ort.Tensor> = {};
    const nSeg = cuts.length + 1;
    const lastNeeded = this.lastSegmentNeeded(cuts, fetch, wantLogits, useCache);
    for (let s = 0; s <= lastNeeded; s++) {
      const lo = s === 0 ? -Infinity : cuts[s - 1].order;
      const hi = s === nSeg - 1 ? Infinity : cuts[s].order;
      const plan: GraphPlan = {
        fetch: [...fetch.filter((n) => inRange(this.pointsByName.get(n) as HookPoint, lo, hi)), ...(wantLogits && s === nSeg - 1 ? [hookName('logits')] : [])],
        interventions: compiled.map(toGraphIntervention),
        inputHooks: s === 0 ? [] : this.carriedHooks(cuts.slice(0, s)),
        cutHooks: s === nSeg - 1 ? [] : this.carriedHooks([cuts[s]], cuts.slice(0, s)),
        cacheLayers: useCache ? this.ownedLayers(lo, hi) : null,
      };
      const { session, graph } = await this.session(plan);
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of graph.inputs) {
        const feed = name.startsWith('in.') ? carried[name.slice(3)] : base[name];
        if (!feed) throw new Error(`runtime: no feed for graph input ${name} (expected ${inputType(name)})`);
        feeds[name] = feed;
      }
      const out = await this.runSession(session, feeds);
      for (const name of plan.fetch) {
        const v = toHost(out[name]);
        if (name === hookName('logits')) logits = v;
        else hooks.set(name, v);
      }
      for (const L of plan.cacheLayers ?? []) {
        presentK[L] = toHost(out[`present.${L}.k`]);
        presentV[L] = toHost(out[`present.${L}.v`]);
      }
      for (const name of plan.cutHooks) carried[name] = out[`out.${name}`];
      if (s < nSeg - 1) {
        const cut = cuts[s];
        const value = toHost(carried[cut.name]);
        for (const f of functions.filter((fn) => fn.hook === cut.name)) {
          const returned = f.fn(value, info);
          if (returned) {
            checkReturned(cut.name, returned, value.shape);
            value.data.set(returned.data);
          }
        }
        carried[cut.name] = new ort.Tensor('float32', value.data, [...value.shape]);
      }
    }
    if (wantLogits && logits === null) throw new Error('runtime: logits were requested but not produced');
    const cache = useCache && options.keepCache !== false
      ? { keys: presentK, values: presentV, attention: keyAttention, length: t }
      : null;
    return { logits, hooks, cache };
  }

  /** Releases every onnxruntime session. */
  async dispose(): Promise<void> {
    for (const { session } of this.sessions.values()) await session.release();
    this.sessions.clear();
  }

  /** The concrete shape of a hook in a step of b rows, p queries and t keys. */
  concreteShape(name: string, b: number, p: number, t: number): number[] {
    const dims = hookDims(this.pointsByName.get(name) as HookPoint, this.config);
    const sym: Record<string, number> = { batch: b, pos: p, keys: t };
    return dims.map((d) => (typeof d === 'number' ? d : sym[d]));
  }

  /**
   * Hooks a segment hands over at a cut: the cut itself and, for a hook inside a block, that
   * block's resid_pre (everything downstream of the cut is computed from these two); values of
   * earlier model-level cuts (hook_embed, hook_pos_embed) are carried along too.
   */
  private carriedHooks(cuts: readonly HookPoint[], earlier: readonly HookPoint[] = []): string[] {
    const names = new Set<string>();
    for (const c of [...earlier, ...cuts]) if (c.layer === null && c.spec.template.startsWith('hook_')) names.add(c.name);
    const last = cuts[cuts.length - 1];
    names.add(last.name);
    if (last.layer !== null) names.add(hookName('blocks.{L}.hook_resid_pre', last.layer));
    return [...names];
  }

  /** Layers whose KV concat (just before the attention scores) falls in [lo, hi) of forward order. */
  private ownedLayers(lo: number, hi: number): number[] {
    const owned: number[] = [];
    for (let L = 0; L < this.config.nLayers; L++) {
      const kvPoint = (this.pointsByName.get(hookName('blocks.{L}.attn.hook_attn_scores', L)) as HookPoint).order - 0.5;
      if (kvPoint >= lo && kvPoint < hi) owned.push(L);
    }
    return owned;
  }

  /** The last segment that produces anything the caller asked for. */
  private lastSegmentNeeded(cuts: readonly HookPoint[], fetch: readonly string[], logits: boolean, cache: boolean): number {
    if (logits || cache) return cuts.length;
    let last = 0;
    for (const name of fetch) {
      const order = (this.pointsByName.get(name) as HookPoint).order;
      last = Math.max(last, cuts.filter((c) => c.order <= order).length);
    }
    return last;
  }

  /** session.run, with a GPU provider's failure (an adapter limit, lost device) turned into one clear message. */
  private async runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    if (this.device === 'cpu') return session.run(feeds);
    try {
      return await session.run(feeds);
    } catch (err) {
      throw deviceError(this.device, err, 'run');
    }
  }

  private async session(plan: GraphPlan): Promise<{ session: ort.InferenceSession; graph: BuiltGraph }> {
    const key = JSON.stringify(plan);
    const hit = this.sessions.get(key);
    if (hit) {
      this.sessions.delete(key);
      this.sessions.set(key, hit); // most recently used last
      return hit;
    }
    const graph = buildGraph(this.family, this.weights, this.pointsByName, plan);
    // The graph file sits beside weights.bin so its external data resolves; it is deleted once loaded.
    const file = path.join(this.weights.dir, `graph-${process.pid}-${randomBytes(6).toString('hex')}.onnx`);
    fs.writeFileSync(file, graph.bytes);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        graphOptimizationLevel: 'all',
        executionProviders: executionProviders(this.device),
        // A GPU provider leaves shape nodes on the CPU and says so in a warning every session.
        ...(this.device !== 'cpu' ? { logSeverityLevel: 3 as const } : {}),
        ...(this.threads !== undefined ? { intraOpNumThreads: this.threads } : {}),
        // onnxruntime's pool threads spin-wait between ops by default. On a small machine that
        // takes the cores other work in this process needs (capture's writer: 12-hook capture
        // overhead 23% → 11% on 2 cores); plain forwards were within noise either way, so the
        // default stays onnxruntime's and INTERP_ORT_SPINNING=0 opts out.
        ...(process.env.INTERP_ORT_SPINNING === '0' ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
      });
    } catch (err) {
      throw this.device === 'cpu' ? err : deviceError(this.device, err, 'open');
    } finally {
      fs.rmSync(file, { force: true });
    }
    if (this.sessions.size >= MAX_SESSIONS) {
      const [oldKey, oldest] = this.sessions.entries().next().value as [string, { session: ort.InferenceSession }];
      this.sessions.delete(oldKey);
      await oldest.session.release();
    }
    const entry = { session, graph };
    this.sessions.set(key, entry);
    return entry;
  }
}

function inRange(point: HookPoint, lo: number, hi: number): boolean {
  return point.order >= lo && point.order < hi;
}

function toHost(t: ort.Tensor | undefined): HostTensor {
  if (!t) throw new Error('runtime: a graph output is missing');
  return { data: t.data as Float32Array, shape: t.dims.map(Number) };
}

/**
 * Behaviour scores of generated continuations: how much a text shows the concept being steered
 * toward. Each scorer gives every continuation a number (the behaviour, for averages and for the
 * per-prompt steerability slope) and a success flag (for the success rate):
 *
 * - a text scorer a dataset provides (registered with registerBehavior: TinyWorld's mood scorer,
 *   datasets/tinyworld/providers.ts, reads the generator's own lexicon), parsed from
 *   `--behavior PREFIX:...`;
 * - a lexicon of positive (and optionally negative) words: behaviour = (positive − negative) /
 *   max(1, positive + negative) ∈ [−1, 1]; success = behaviour > 0.
 * - a probe's mean score (probability of its positive class) over the generated tokens, read by
 *   the *unsteered* model over prompt + continuation, so it measures the text and not the vector
 *   added to the residual stream; success = mean > 0.5.
 */
import { readFileSync } from 'node:fs';
import { FileFormatError, UsageError } from '../src/errors.js';
import type { Intervention } from '../src/runtime/interventions.js';
import type { HookedTransformer } from '../src/runtime/model.js';
import type { HostTensor } from '../src/runtime/tensor.js';

/** One continuation to score. */
export interface Continuation {
  readonly prompt: readonly number[];
  readonly generated: readonly number[];
  /** Decoded continuation (null without a tokenizer). */
  readonly text: string | null;
}

export interface BehaviorScore {
  readonly score: number;
  readonly success: boolean;
}

/** Per-token probability scores of activations [n, d] → [n] (a probe, applied by the caller's module). */
export interface TokenProbe {
  readonly hook: string;
  readonly name: string;
  /** Probability of the concept for each row of x [n, d]. */
  score(x: Float32Array, n: number): Promise<Float32Array>;
}

/** A behaviour that reads the continuation's text alone, e.g. a dataset's own scorer of its generated world. */
export interface TextScorer {
  /** Shown in reports, e.g. "TinyWorld scorer: mood = happy". */
  readonly name: string;
  score(text: string): BehaviorScore;
}

/**
 * Behaviours a dataset provides: `parse` receives a `--behavior` value that starts with `prefix`
 * and returns its scorer (or throws a UsageError naming the value and what it accepts).
 */
export interface BehaviorProvider {
  /** E.g. `tinyworld:`. */
  readonly prefix: string;
  /** One example value, shown when a value matches no behaviour. */
  readonly example: string;
  parse(value: string): TextScorer;
}

const PROVIDERS: BehaviorProvider[] = [];

/** Registers a dataset's behaviours (the CLI does this at start-up); a prefix registered twice keeps the first. */
export function registerBehavior(provider: BehaviorProvider): void {
  if (!PROVIDERS.some((p) => p.prefix === provider.prefix)) PROVIDERS.push(provider);
}

export type BehaviorSpec =
  | { readonly kind: 'text'; readonly scorer: TextScorer }
  | { readonly kind: 'lexicon'; readonly source: string; readonly positive: ReadonlySet<string>; readonly negative: ReadonlySet<string> }
  | { readonly kind: 'probe'; readonly probe: TokenProbe };

/** A human-readable name of a behaviour spec. */
export function behaviorName(b: BehaviorSpec): string {
  switch (b.kind) {
    case 'text': return b.scorer.name;
    case 'lexicon': return `lexicon ${b.source} (${b.positive.size} positive, ${b.negative.size} negative words)`;
    case 'probe': return `probe ${b.probe.name} at ${b.probe.hook} (mean probability over generated tokens)`;
  }
}

/**
 * Parses a behaviour: `lexicon:FILE` where FILE is JSON {"positive": [...], "negative": [...]} or
 * text with one positive word per line, or a value a registered provider takes (e.g.
 * `tinyworld:mood=happy`). Probe behaviours are built by the CLI, which owns probe loading.
 */
export function parseBehavior(value: string): BehaviorSpec {
  if (value.startsWith('lexicon:')) return readLexicon(value.slice('lexicon:'.length));
  const provider = PROVIDERS.find((p) => value.startsWith(p.prefix));
  if (provider) return { kind: 'text', scorer: provider.parse(value) };
  const forms = ['lexicon:FILE', 'probe:DIR', ...PROVIDERS.map((p) => p.example)];
  throw new UsageError(`behaviour ${value}: expected ${forms.join(', ')}`, `pass e.g. ${PROVIDERS[0]?.example ?? 'lexicon:happy-words.txt'} or lexicon:happy-words.txt`);
}

function readLexicon(file: string): BehaviorSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`lexicon ${file} does not exist or cannot be read`, 'pass a JSON file {"positive": [...], "negative": [...]} or a text file with one word per line');
  }
  const lower = (xs: readonly string[]) => new Set(xs.map((w) => w.toLowerCase()));
  const words = (v: unknown): v is string[] => Array.isArray(v) && v.every((w) => typeof w === 'string');
  if (file.endsWith('.json')) {
    let parsed: { positive?: unknown; negative?: unknown } | null;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (e) {
      throw new FileFormatError(`${file}: not valid JSON (${(e as Error).message})`, 'write {"positive": ["glad", ...], "negative": ["sad", ...]}');
    }
    if (typeof parsed !== 'object' || parsed === null || !words(parsed.positive) || (parsed.negative !== undefined && !words(parsed.negative))) throw new FileFormatError(`${file}: expected an object whose "positive" (and "negative", if given) are arrays of words`, 'write {"positive": ["glad", ...], "negative": ["sad", ...]}');
    return { kind: 'lexicon', source: file, positive: lower(parsed.positive), negative: lower(parsed.negative ?? []) };
  }
  const lines = text.split(/\r?\n/).map((w) => w.trim()).filter((w) => w !== '');
  if (lines.length === 0) throw new FileFormatError(`${file}: no words`, 'give one word per line');
  return { kind: 'lexicon', source: file, positive: lower(lines), negative: new Set() };
}

/** Scores every continuation; the model is used only by probe behaviours. */
export async function scoreContinuations(spec: BehaviorSpec, model: HookedTransformer, items: readonly Continuation[], batchSize = 16): Promise<BehaviorScore[]> {
  switch (spec.kind) {
    case 'text':
      return items.map((c) => spec.scorer.score(c.text ?? ''));
    case 'lexicon':
      return items.map((c) => lexiconScore(c.text ?? '', spec.positive, spec.negative));
    case 'probe': {
      const perToken = await probeTokenScores(model, spec.probe, items, [], batchSize);
      return perToken.map((s) => {
        const mean = s.length ? s.reduce((a, x) => a + x, 0) / s.length : 0;
        return { score: mean, success: mean > 0.5 };
      });
    }
  }
}

function lexiconScore(text: string, positive: ReadonlySet<string>, negative: ReadonlySet<string>): BehaviorScore {
  let pos = 0;
  let neg = 0;
  for (const w of text.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) {
    if (positive.has(w)) pos++;
    else if (negative.has(w)) neg++;
  }
  const score = (pos - neg) / Math.max(1, pos + neg);
  return { score, success: score > 0 };
}

/**
 * A probe's score at every generated token of each continuation (monitor mode, and the probe
 * behaviour): the model reads prompt + continuation with `interventions` (none: the text as the
 * unsteered model reads it), and the probe scores the hook's value at each generated token's position.
 */
export async function probeTokenScores(
  model: HookedTransformer,
  probe: TokenProbe,
  items: readonly Continuation[],
  interventions: readonly Intervention[] | ((promptLengths: readonly number[]) => readonly Intervention[]),
  batchSize = 16,
): Promise<Float32Array[]> {
  const hook = model.hook(probe.hook).name;
  const out: Float32Array[] = [];
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const seqs = chunk.map((c) => [...c.prompt, ...c.generated]);
    const batch = model.batch(seqs);
    const ivs = typeof interventions === 'function' ? interventions(chunk.map((c) => c.prompt.length)) : interventions;
    const res = await model.run(batch, { fetch: [hook], logits: false, interventions: ivs });
    const h = res.hooks.get(hook) as HostTensor;
    const d = h.shape[h.shape.length - 1];
    for (const [r, c] of chunk.entries()) {
      const n = c.generated.length;
      const x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const k = r * batch.positions + batch.offsets[r] + c.prompt.length + i;
        x.set(h.data.subarray(k * d, (k + 1) * d), i * d);
      }
      out.push(n ? await probe.score(x, n) : new Float32Array(0));
    }
  }
  return out;
}

"""Trains the TinyWorld model (llama.py) on generated stories.

    npx tsx datasets/tinyworld/scripts/prepare.ts          # tokenizer + .data/train.bin + exact targets
    python3 datasets/tinyworld/train.py [--threads N] [--minutes 38 | --steps S --decay-steps D] [--seed 0]

Needs only PyTorch (Debian's python3-torch 1.13) and numpy; writes datasets/tinyworld/model/
(config.json, generation_config.json, model.safetensors) as transformers' LlamaForCausalLM would
save them. Training fits a wall-clock budget (--minutes) or replays a fixed number of steps (--steps).
"""
import argparse
import json
import os
import time

from llama import BOS_ID, EOS_ID, MODEL_DIR, PAD_ID, Llama, save_model  # first: sets OpenBLAS threads before torch loads

import math  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, ".data")

# The architecture. vocab_size is read from tokenizer.json so the two can never disagree.
SHAPE = dict(
    hidden_size=128,
    intermediate_size=352,  # ~8/3 * d rounded to a multiple of 32, as Llama sizes its SwiGLU
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    rms_norm_eps=1e-6,
    rope_theta=500000.0,
)


def hf_config(vocab_size):
    return dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=vocab_size, **SHAPE,
        hidden_act="silu", tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID, torch_dtype="float32",
        head_dim=SHAPE["hidden_size"] // SHAPE["num_attention_heads"], initializer_range=0.02,
    )


def init_weights(model, seed):
    """GPT-2/Llama-style init: N(0, 0.02), residual output projections scaled by 1/sqrt(2L) (GPT-2 paper, sec. 2.3)."""
    g = torch.Generator().manual_seed(seed)
    L = model.config["num_hidden_layers"]
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            continue
        std = 0.02 / math.sqrt(2 * L) if name.endswith(("o_proj.weight", "down_proj.weight")) else 0.02
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)


def vocab_size():
    with open(os.path.join(MODEL_DIR, "tokenizer.json")) as f:
        return len(json.load(f)["model"]["vocab"])


def load_stories(path):
    """A .bin stream ("<bos> … <eos>" back to back, uint16) as a list of int64 arrays."""
    ids = np.fromfile(path, dtype="<u2").astype(np.int64)
    starts = np.flatnonzero(ids == BOS_ID)
    return np.split(ids, starts[1:])


def pad_batch(stories):
    T = max(len(s) for s in stories)
    out = np.full((len(stories), T), PAD_ID, dtype=np.int64)
    for i, s in enumerate(stories):
        out[i, : len(s)] = s
    return torch.from_numpy(out)


def story_loss(model, batch):
    """Mean next-token NLL over real tokens (targets after <bos> up to and including <eos>), and their count."""
    logits = model(batch[:, :-1])
    targets = batch[:, 1:]
    mask = targets != PAD_ID
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none").view(targets.shape)
    return (nll * mask).sum() / mask.sum(), int(mask.sum())


class ExactTargets:
    """The generator's exact next-token distribution at every predicted position of train.bin
    (prepare.ts writes them). Training against them rather than the sampled next token removes
    the sampling noise from the gradient: the loss is then H(p_true) + KL(p_true || p_model) per
    position, whose minimum is the true entropy, and mass on tokens the grammar forbids is pushed
    down at every step instead of in proportion to how rarely it is sampled."""

    def __init__(self, stories, prefix):
        self.counts = np.fromfile(prefix + ".count.bin", dtype=np.uint8).astype(np.int64)
        self.ids = np.fromfile(prefix + ".ids.bin", dtype="<u2").astype(np.int64)
        self.probs = np.fromfile(prefix + ".probs.bin", dtype="<f4")
        lengths = np.array([len(s) - 1 for s in stories])  # predicted positions per story
        assert lengths.sum() <= len(self.counts), "train_dist has fewer positions than train.bin; rerun prepare.ts"
        self.pos_start = np.concatenate([[0], np.cumsum(lengths)])
        self.entry_start = np.concatenate([[0], np.cumsum(self.counts)])

    def batch(self, indices, T, V):
        """Dense targets (B, T-1, V) for the stories `indices` padded to T tokens; padding rows are zero."""
        out = np.zeros((len(indices), T - 1, V), dtype=np.float32)
        for b, i in enumerate(indices):
            p0, p1 = self.pos_start[i], self.pos_start[i + 1]
            e0, e1 = self.entry_start[p0], self.entry_start[p1]
            t = np.repeat(np.arange(p1 - p0), self.counts[p0:p1])
            out[b, t, self.ids[e0:e1]] = self.probs[e0:e1]
        return torch.from_numpy(out)


def exact_loss(model, batch, targets):
    """Cross-entropy against the exact next-token distributions, per predicted position."""
    logp = F.log_softmax(model(batch[:, :-1]), -1)
    n = int((batch[:, 1:] != PAD_ID).sum())
    return -(targets * logp).sum() / n, n


# ---- training ----------------------------------------------------------------------------------

def batches(stories, batch_size, rng):
    """Length-bucketed batches: shuffle, sort within windows of 50 batches, shuffle the batches (little padding)."""
    order = rng.permutation(len(stories))
    window = batch_size * 50
    out = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: len(stories[i]))
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk) - batch_size + 1, batch_size)]
    rng.shuffle(out)
    return out


class Schedule:
    """Warmup-stable-decay learning rate (Hu et al. 2024, MiniCPM, sec. 4): linear warmup, a constant
    stretch, then a linear decay to zero over the last `decay` steps. With --minutes, the decay starts
    when 80% of the wall-clock budget is spent and its length is fixed then from the measured step
    time, so the run fits the budget on a busy machine; the run prints the --steps/--decay-steps that
    replay exactly the same schedule."""

    def __init__(self, peak, warmup, total=None, decay=None):
        self.peak, self.warmup, self.total, self.decay = peak, warmup, total, decay

    def fixed(self):
        return self.total is not None

    def fix(self, step, decay):
        self.total, self.decay = step + decay, decay

    def lr(self, step):
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        if self.total is None or step < self.total - self.decay:
            return self.peak
        return self.peak * (self.total - step) / self.decay


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--minutes", type=float, default=38.0, help="wall-clock budget (ignored with --steps)")
    ap.add_argument("--steps", type=int, default=0, help="total steps; with --decay-steps replays a finished run's schedule exactly")
    ap.add_argument("--decay-steps", type=int, default=0, help="length of the final decay (default: 20%% of --steps)")
    ap.add_argument("--batch", type=int, default=48, help="stories per batch")
    ap.add_argument("--targets", choices=["exact", "sampled"], default="exact",
                    help="exact: the generator's next-token distributions (.data/train_dist.*); sampled: the next token")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    stories = load_stories(os.path.join(DATA_DIR, "train.bin"))
    heldout = load_stories(os.path.join(DATA_DIR, "heldout.bin"))[:500]
    config = hf_config(vocab_size())
    model = Llama(config)
    init_weights(model, args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters; {len(stories)} training stories; threads {args.threads}", flush=True)
    exact = ExactTargets(stories, os.path.join(DATA_DIR, "train_dist")) if args.targets == "exact" else None
    # No weight decay: every batch is fresh data, and decay would hold back the large logit gaps
    # that keep sampled stories inside the grammar.
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))

    def plan():
        while True:  # epochs, each freshly shuffled
            yield from batches(stories, args.batch, rng)
    plan = plan()
    sched = Schedule(args.lr, warmup=200)
    if args.steps:
        sched.fix(0, 0)
        sched.total, sched.decay = args.steps, args.decay_steps or args.steps // 5
    t0, step, seen, recent = time.time(), 0, 0, []
    while not sched.fixed() or step < sched.total:
        t_step = time.time()
        indices = next(plan)
        batch = pad_batch([stories[i] for i in indices])
        for g in opt.param_groups:
            g["lr"] = sched.lr(step)
        if exact is None:
            loss, n = story_loss(model, batch)
        else:
            loss, n = exact_loss(model, batch, exact.batch(indices, batch.shape[1], config["vocab_size"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step, seen = step + 1, seen + n
        recent = (recent + [time.time() - t_step])[-200:]
        if not sched.fixed() and time.time() - t0 >= 0.8 * args.minutes * 60:
            left = args.minutes * 60 - (time.time() - t0)
            sched.fix(step, max(1, int(left / (sum(recent) / len(recent)))))
            print(f"decay from step {step}: replay with --steps {sched.total} --decay-steps {sched.decay}", flush=True)
        if step % 500 == 0 or step == sched.total:
            model.eval()
            with torch.no_grad():
                held = [story_loss(model, pad_batch(heldout[i : i + 100])) for i in range(0, len(heldout), 100)]
            model.train()
            h = sum(l.item() * k for l, k in held) / sum(k for _, k in held)
            print(f"step {step} lr {sched.lr(step - 1):.2e} tokens {seen} train {loss.item():.4f} heldout {h:.4f} {time.time() - t0:.0f}s", flush=True)
            save_model(model)
    print(f"done: {step} steps, {seen} tokens, {time.time() - t0:.0f}s", flush=True)
    save_model(model)


if __name__ == "__main__":
    main()

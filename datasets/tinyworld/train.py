"""Trains the TinyWorld model: a small Llama in Hugging Face conventions, on generated stories.

    npx tsx datasets/tinyworld/scripts/prepare.ts          # tokenizer + .data/train.bin
    python3 datasets/tinyworld/train.py [--threads N] [--minutes 38 | --steps S --decay-steps D] [--seed 0]

Needs only PyTorch (Debian's python3-torch 1.13) and numpy; writes datasets/tinyworld/model/
(config.json, generation_config.json, model.safetensors) exactly as transformers'
LlamaForCausalLM would save them. The model class follows HF's modeling_llama: RMSNorm
x * rsqrt(mean(x^2) + eps) * w, RoPE with rotate_half (pairs (i, i + d/2)) and
inv_freq = theta^(-2i/d), grouped-query attention by repeating KV heads, SwiGLU MLP.
Training fits a wall-clock budget (--minutes) or replays a fixed number of steps (--steps).
"""
import argparse
import json
import math
import os
import struct
import time

import sys


def _threads_from_argv():
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


# OpenBLAS (Debian's torch BLAS) starts its own thread pool, which torch.set_num_threads does not
# bound; its size is read from the environment when the library loads, so set it before import.
if _threads_from_argv() is not None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, _threads_from_argv())

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "model")
DATA_DIR = os.path.join(HERE, ".data")
BOS_ID, EOS_ID, PAD_ID = 1, 2, 3

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


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def normalize(self, x):
        # What TransformerLens calls hook_normalized: before the weight.
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        return self.normalize(x) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(positions, head_dim, theta):
    """cos, sin of shape (B, T, head_dim) for integer positions (B, T)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = positions[..., None].float() * inv_freq  # (B, T, head_dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.dh = d // self.h
        self.q_proj = nn.Linear(d, self.h * self.dh, bias=False)
        self.k_proj = nn.Linear(d, self.kv * self.dh, bias=False)
        self.v_proj = nn.Linear(d, self.kv * self.dh, bias=False)
        self.o_proj = nn.Linear(self.h * self.dh, d, bias=False)

    def forward(self, x, cos, sin, hooks=None, prefix=""):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.dh)  # (B, T, H, dh), before RoPE
        k = self.k_proj(x).view(B, T, self.kv, self.dh)  # (B, T, KV, dh)
        v = self.v_proj(x).view(B, T, self.kv, self.dh)
        if hooks is not None:
            hooks[prefix + "attn.hook_q"], hooks[prefix + "attn.hook_k"], hooks[prefix + "attn.hook_v"] = q, k, v
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, dh)
        c, s = cos[:, None], sin[:, None]
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        rep = self.h // self.kv  # GQA: query head i reads KV head i // rep
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)  # (B, H, T, T)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        pattern = scores.softmax(-1)  # masked entries are exactly 0
        z = (pattern @ v).transpose(1, 2)  # (B, T, H, dh)
        if hooks is not None:
            hooks[prefix + "attn.hook_pattern"], hooks[prefix + "attn.hook_z"] = pattern, z
        return self.o_proj(z.reshape(B, T, self.h * self.dh))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, m = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x, hooks=None, prefix=""):
        gate, up = self.gate_proj(x), self.up_proj(x)
        post = F.silu(gate) * up
        if hooks is not None:
            hooks[prefix + "mlp.hook_pre"], hooks[prefix + "mlp.hook_pre_linear"], hooks[prefix + "mlp.hook_post"] = gate, up, post
        return self.down_proj(post)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, hooks=None, prefix=""):
        if hooks is None:
            x = x + self.self_attn(self.input_layernorm(x), cos, sin)
            return x + self.mlp(self.post_attention_layernorm(x))
        # The same computation, recording every TransformerLens hook point of the block in forward order.
        hooks[prefix + "hook_resid_pre"] = x
        hooks[prefix + "ln1.hook_normalized"] = self.input_layernorm.normalize(x)
        attn_out = self.self_attn(self.input_layernorm(x), cos, sin, hooks, prefix)
        hooks[prefix + "hook_attn_out"] = attn_out
        mid = x + attn_out
        hooks[prefix + "hook_resid_mid"] = mid
        hooks[prefix + "ln2.hook_normalized"] = self.post_attention_layernorm.normalize(mid)
        mlp_out = self.mlp(self.post_attention_layernorm(mid), hooks, prefix)
        hooks[prefix + "hook_mlp_out"] = mlp_out
        out = mid + mlp_out
        hooks[prefix + "hook_resid_post"] = out
        return out


class Llama(nn.Module):
    """Parameter names are the checkpoint's own keys (model.*, lm_head), so saving is a key-by-key copy."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.model.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)  # untied

    def forward(self, ids, hooks=None):
        """ids (B, T) with right padding only, so positions are 0..T-1 in every row. Returns logits (B, T, V)."""
        B, T = ids.shape
        positions = torch.arange(T)[None].expand(B, T)
        cos, sin = rope_tables(positions, self.config["hidden_size"] // self.config["num_attention_heads"], self.config["rope_theta"])
        x = self.model.embed_tokens(ids)
        if hooks is not None:
            hooks["hook_embed"] = x
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, hooks, f"blocks.{i}.")
        if hooks is not None:
            hooks["ln_final.hook_normalized"] = self.model.norm.normalize(x)
        x = self.model.norm(x)
        if hooks is not None:
            hooks["ln_final.output"] = x
        return self.lm_head(x)


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


# ---- files -------------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """safetensors by hand: u64 LE header length, JSON header padded with spaces to 8 bytes, data back to back."""
    header, chunks, offset = {"__metadata__": {"format": "pt", **(metadata or {})}}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"]).copy())
    return out


def hf_config(vocab_size):
    return dict(
        architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=vocab_size, **SHAPE,
        hidden_act="silu", tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID, torch_dtype="float32",
        head_dim=SHAPE["hidden_size"] // SHAPE["num_attention_heads"], initializer_range=0.02,
    )


def save_model(model, model_dir=MODEL_DIR):
    write_safetensors(os.path.join(model_dir, "model.safetensors"), model.state_dict())
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)
        f.write("\n")
    gen = dict(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID, do_sample=True, temperature=1.0, max_length=model.config["max_position_embeddings"])
    with open(os.path.join(model_dir, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
        f.write("\n")


def load_model(model_dir=MODEL_DIR, weights="model.safetensors"):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = Llama(config)
    state = read_safetensors(os.path.join(model_dir, weights))
    missing = set(model.state_dict()) - set(state)
    unexpected = set(state) - set(model.state_dict())
    assert not missing and not unexpected, f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
    model.load_state_dict(state)
    return model.eval()


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
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))

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
        batch = pad_batch([stories[i] for i in next(plan)])
        for g in opt.param_groups:
            g["lr"] = sched.lr(step)
        loss, n = story_loss(model, batch)
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

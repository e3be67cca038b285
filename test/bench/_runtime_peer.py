#!/usr/bin/python3
"""PyTorch peer of the runtime benchmark (test/bench/runtime.ts): minimal forwards of GPT-2,
GPT-NeoX (Pythia), Gemma 2 and Qwen3, written from the Hugging Face modeling files
(transformers' models/{gpt2,gpt_neox,gemma2,qwen3}/modeling_*.py) in plain torch 1.13.

Loads the same Hugging Face checkpoint as interp (config.json plus model.safetensors or a sharded
model.safetensors.index.json; F32, F16 or BF16 parsed with numpy and widened to fp32, one tensor at
a time) and runs fp32 forward passes under torch.inference_mode() with a given thread count, one
per command on stdin, so the benchmark can alternate them with interp's (both sides then see the
same machine load). Protocol: see main(). The BLAS in use is read from /proc/self/maps.
Run it with Debian's /usr/bin/python3 (python3-torch); BLAS should be OpenBLAS (libopenblas0-pthread).

Vocabulary: B = batch, T = positions, C = d_model, H = heads, KV = key/value heads, D = d_head.
"""
import argparse, json, math, os, resource, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------------------------------------
# Checkpoint reading.

def _widen(raw, dtype, shape):
    """Raw little-endian bytes of one tensor → an fp32 torch tensor (a copy)."""
    if dtype == "F32":
        a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif dtype == "F16":
        a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        # bf16 is the high half of an fp32 bit pattern.
        a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise ValueError(f"unsupported safetensors dtype {dtype}")
    return torch.from_numpy(a.reshape(shape))


def read_safetensors(path):
    """Every tensor of one safetensors file as fp32, reading tensor by tensor (bounded memory)."""
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            f.seek(base + a)
            out[name] = _widen(f.read(b - a), info["dtype"], info["shape"])
    return out


def read_checkpoint(model_dir):
    """model.safetensors, or the shards named by model.safetensors.index.json."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(model_dir, "model.safetensors"))
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    out = {}
    for shard in sorted(set(weight_map.values())):
        out.update(read_safetensors(os.path.join(model_dir, shard)))
    return out


# ---------------------------------------------------------------------------------------------
# Shared pieces.

def causal_mask(T, window=None):
    """[T, T] bool: query i sees key j iff j <= i (and i - j < window with a sliding window)."""
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    m = j <= i
    if window is not None:
        m = m & (i - j < window)
    return m


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rope_tables(T, rotary_dim, theta):
    """cos, sin [T, rotary_dim] in Hugging Face's rotate_half layout (emb = cat(freqs, freqs))."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, rotary_dim, 2, dtype=torch.int64).float() / rotary_dim))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    """x [B, H, T, rotary_dim]."""
    return x * cos + rotate_half(x) * sin


def attend(q, k, v, mask, scaling, softcap=None):
    """q [B, H, T, D], k/v [B, KV, T, D] (repeated to H as repeat_kv) → [B, T, H·D]."""
    B, H, T, D = q.shape
    if k.shape[1] != H:
        k = k.repeat_interleave(H // k.shape[1], dim=1)
        v = v.repeat_interleave(H // v.shape[1], dim=1)
    att = (q @ k.transpose(-2, -1)) * scaling
    if softcap is not None:
        att = torch.tanh(att / softcap) * softcap
    att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return (att @ v).transpose(1, 2).reshape(B, T, H * D)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + eps) · w, or · (1 + w) for Gemma (which stores w − 1)."""

    def __init__(self, d, eps, unit_offset=False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d, device=META))
        self.eps, self.unit_offset = eps, unit_offset

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return y * (1.0 + self.weight) if self.unit_offset else y * self.weight


# Modules are built on the meta device (no memory, no random init) and their parameters are then
# set to the checkpoint's tensors, so a load holds the weights once (Gemma-2-2B: 10.5 GB in fp32).
META = torch.device("meta")


def linear(d_in, d_out, bias):
    return nn.Linear(d_in, d_out, bias=bias, device=META)


def layer_norm(d, eps):
    return nn.LayerNorm(d, eps=eps, device=META)


def embedding(V, d):
    return nn.Embedding(V, d, device=META)


def assign_weights(model, sd):
    """Sets every parameter of `model` to the tensor of the same name in `sd` (strict: names and shapes)."""
    own = dict(model.named_parameters())
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or unexpected:
        raise SystemExit(f"_runtime_peer.py: checkpoint mismatch: missing {missing[:8]}, unexpected {unexpected[:8]}")
    for name, t in sd.items():
        owner, _, attr = name.rpartition(".")
        module = model.get_submodule(owner) if owner else model
        if tuple(own[name].shape) != tuple(t.shape):
            raise SystemExit(f"_runtime_peer.py: {name} has shape {tuple(t.shape)}, the model expects {tuple(own[name].shape)}")
        setattr(module, attr, nn.Parameter(t, requires_grad=False))


# ---------------------------------------------------------------------------------------------
# GPT-2 (modeling_gpt2.py): learned positions, pre-LN blocks, tanh GELU, tied unembedding.

class Gpt2Block(nn.Module):
    def __init__(self, d, h, eps):
        super().__init__()
        self.h, self.ln_1, self.ln_2 = h, layer_norm(d, eps), layer_norm(d, eps)
        self.c_attn, self.c_proj = linear(d, 3 * d, True), linear(d, d, True)
        self.c_fc, self.mlp_proj = linear(d, 4 * d, True), linear(4 * d, d, True)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        x = x + self.c_proj(attend(q, k, v, mask, 1.0 / math.sqrt(C // self.h)))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.wte, self.wpe = embedding(V, d), embedding(P, d)
        self.h = nn.ModuleList(Gpt2Block(d, cfg["n_head"], eps) for _ in range(cfg["n_layer"]))
        self.ln_f = layer_norm(d, eps)

    def load_hf(self, sd):
        """HF GPT2 state dict (Conv1D weights [in, out]) into nn.Linear ([out, in])."""
        sd = {k.removeprefix("transformer."): v for k, v in sd.items()}
        rename = {"attn.c_attn": "c_attn", "attn.c_proj": "c_proj", "mlp.c_fc": "c_fc", "mlp.c_proj": "mlp_proj"}
        mine = {}
        for k, v in sd.items():
            if k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
                continue  # causal-mask buffers of older checkpoints
            for a, b in rename.items():
                if f".{a}." in k:
                    k = k.replace(a, b)
                    v = v.t().contiguous() if k.endswith("weight") else v
            mine[k] = v
        mine.pop("lm_head.weight", None)  # tied to wte
        assign_weights(self, mine)

    def forward(self, idx):
        B, T = idx.shape
        mask = causal_mask(T)
        x = self.wte(idx) + self.wpe(torch.arange(T).unsqueeze(0))
        for block in self.h:
            x = block(x, mask)
        return F.linear(self.ln_f(x), self.wte.weight)


# ---------------------------------------------------------------------------------------------
# GPT-NeoX / Pythia (modeling_gpt_neox.py): query_key_value interleaved per head [H, (q, k, v), D],
# partial rotary on the first rotary_pct of each head, scores / sqrt(D), exact GELU, parallel
# residual x + attn(ln1(x)) + mlp(ln2(x)), untied embed_out.

class NeoxBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, m, eps = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("layer_norm_eps", 1e-5)
        self.h = cfg["num_attention_heads"]
        self.parallel = cfg.get("use_parallel_residual", True)
        self.input_layernorm, self.post_attention_layernorm = layer_norm(d, eps), layer_norm(d, eps)
        self.query_key_value, self.dense = linear(d, 3 * d, True), linear(d, d, True)
        self.dense_h_to_4h, self.dense_4h_to_h = linear(d, m, True), linear(m, d, True)
        self.act = {"gelu": F.gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "relu": F.relu}[cfg.get("hidden_act", "gelu")]

    def attn(self, x, mask, cos, sin):
        B, T, C = x.shape
        D = C // self.h
        qkv = self.query_key_value(x).view(B, T, self.h, 3 * D).permute(0, 2, 1, 3)
        q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
        rd = cos.shape[-1]
        q = torch.cat((apply_rope(q[..., :rd], cos, sin), q[..., rd:]), dim=-1)
        k = torch.cat((apply_rope(k[..., :rd], cos, sin), k[..., rd:]), dim=-1)
        return self.dense(attend(q, k, v, mask, 1.0 / math.sqrt(D)))

    def mlp(self, x):
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))

    def forward(self, x, mask, cos, sin):
        a = self.attn(self.input_layernorm(x), mask, cos, sin)
        if self.parallel:
            return x + a + self.mlp(self.post_attention_layernorm(x))
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x))


class GPTNeoX(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, V = cfg["hidden_size"], cfg["vocab_size"]
        D = d // cfg["num_attention_heads"]
        self.rotary_dim = int(D * cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 1.0)))
        self.theta = cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000))
        self.embed_in = embedding(V, d)
        self.layers = nn.ModuleList(NeoxBlock(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.final_layer_norm = layer_norm(d, cfg.get("layer_norm_eps", 1e-5))
        self.embed_out = linear(d, V, False)

    def load_hf(self, sd):
        mine = {}
        for k, v in sd.items():
            if k.endswith((".attention.bias", ".attention.masked_bias", "rotary_emb.inv_freq")):
                continue
            k = k.removeprefix("gpt_neox.").replace(".attention.", ".").replace(".mlp.", ".")
            mine[k] = v
        assign_weights(self, mine)

    def forward(self, idx):
        B, T = idx.shape
        mask = causal_mask(T)
        cos, sin = rope_tables(T, self.rotary_dim, self.theta)
        x = self.embed_in(idx)
        for block in self.layers:
            x = block(x, mask, cos, sin)
        return self.embed_out(self.final_layer_norm(x))


# ---------------------------------------------------------------------------------------------
# Llama-style attention + gated MLP, shared by Gemma 2 and Qwen3.

class GatedMlp(nn.Module):
    def __init__(self, d, m, act):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = linear(d, m, False), linear(d, m, False), linear(m, d, False)
        self.act = act

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class SelfAttention(nn.Module):
    """q/k/v/o projections; optional per-head q/k RMSNorm before RoPE (Qwen3); optional soft-cap (Gemma 2)."""

    def __init__(self, cfg, qk_norm, norm_eps, scaling, softcap):
        super().__init__()
        d, self.H, self.KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.D = cfg.get("head_dim") or d // self.H
        self.q_proj, self.k_proj = linear(d, self.H * self.D, False), linear(d, self.KV * self.D, False)
        self.v_proj, self.o_proj = linear(d, self.KV * self.D, False), linear(self.H * self.D, d, False)
        if qk_norm:
            self.q_norm, self.k_norm = RMSNorm(self.D, norm_eps), RMSNorm(self.D, norm_eps)
        self.qk_norm, self.scaling, self.softcap = qk_norm, scaling, softcap

    def forward(self, x, mask, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.D)
        k = self.k_proj(x).view(B, T, self.KV, self.D)
        v = self.v_proj(x).view(B, T, self.KV, self.D).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q.transpose(1, 2), cos, sin), apply_rope(k.transpose(1, 2), cos, sin)
        return self.o_proj(attend(q, k, v, mask, self.scaling, self.softcap))


# ---------------------------------------------------------------------------------------------
# Gemma 2 (modeling_gemma2.py): embedding · √C, (1 + w) RMSNorm, norms before and after attention
# and MLP, scores · query_pre_attn_scalar^-½ soft-capped at 50, sliding window on even layers,
# GeGLU with tanh GELU, tied unembedding, final logits soft-capped at 30.

class Gemma2Block(nn.Module):
    def __init__(self, cfg, sliding):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6)
        self.sliding = sliding
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(d, eps, True), RMSNorm(d, eps, True)
        self.pre_feedforward_layernorm, self.post_feedforward_layernorm = RMSNorm(d, eps, True), RMSNorm(d, eps, True)
        self.self_attn = SelfAttention(cfg, False, eps, cfg["query_pre_attn_scalar"] ** -0.5, cfg.get("attn_logit_softcapping"))
        self.mlp = GatedMlp(d, cfg["intermediate_size"], lambda x: F.gelu(x, approximate="tanh"))

    def forward(self, x, masks, cos, sin):
        mask = masks["sliding" if self.sliding else "full"]
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x), mask, cos, sin))
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class Gemma2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, V = cfg["hidden_size"], cfg["vocab_size"]
        self.cfg, self.d = cfg, d
        self.embed_tokens = embedding(V, d)
        self.layers = nn.ModuleList(Gemma2Block(cfg, i % 2 == 0) for i in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(d, cfg.get("rms_norm_eps", 1e-6), True)

    def load_hf(self, sd):
        sd = {k.removeprefix("model."): v for k, v in sd.items() if not k.endswith("rotary_emb.inv_freq")}
        sd.pop("lm_head.weight", None)  # tied
        assign_weights(self, sd)

    def forward(self, idx):
        B, T = idx.shape
        cfg = self.cfg
        masks = {"full": causal_mask(T), "sliding": causal_mask(T, cfg.get("sliding_window"))}
        D = cfg.get("head_dim") or self.d // cfg["num_attention_heads"]
        cos, sin = rope_tables(T, D, cfg.get("rope_theta", 10000.0))
        x = self.embed_tokens(idx) * torch.tensor(self.d ** 0.5, dtype=torch.float32)
        for block in self.layers:
            x = block(x, masks, cos, sin)
        logits = F.linear(self.norm(x), self.embed_tokens.weight)
        cap = cfg.get("final_logit_softcapping")
        return torch.tanh(logits / cap) * cap if cap else logits


# ---------------------------------------------------------------------------------------------
# Qwen3 (modeling_qwen3.py): Llama blocks with per-head q_norm/k_norm (RMSNorm over D, before
# RoPE), scores / sqrt(D), SwiGLU, tied unembedding when tie_word_embeddings.

class Qwen3Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6)
        D = cfg.get("head_dim") or d // cfg["num_attention_heads"]
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.self_attn = SelfAttention(cfg, True, eps, D ** -0.5, None)
        self.mlp = GatedMlp(d, cfg["intermediate_size"], F.silu)

    def forward(self, x, mask, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), mask, cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, V = cfg["hidden_size"], cfg["vocab_size"]
        self.cfg, self.d = cfg, d
        self.tied = cfg.get("tie_word_embeddings", False)
        self.embed_tokens = embedding(V, d)
        self.layers = nn.ModuleList(Qwen3Block(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(d, cfg.get("rms_norm_eps", 1e-6))
        if not self.tied:
            self.lm_head = linear(d, V, False)

    def load_hf(self, sd):
        sd = {k.removeprefix("model."): v for k, v in sd.items() if not k.endswith("rotary_emb.inv_freq")}
        if self.tied:
            sd.pop("lm_head.weight", None)
        assign_weights(self, sd)

    def forward(self, idx):
        B, T = idx.shape
        cfg = self.cfg
        mask = causal_mask(T)
        D = cfg.get("head_dim") or self.d // cfg["num_attention_heads"]
        cos, sin = rope_tables(T, D, cfg.get("rope_theta", 10000.0))
        x = self.embed_tokens(idx)
        for block in self.layers:
            x = block(x, mask, cos, sin)
        x = self.norm(x)
        return F.linear(x, self.embed_tokens.weight) if self.tied else self.lm_head(x)


MODELS = {"gpt2": GPT2, "gpt_neox": GPTNeoX, "gemma2": Gemma2, "qwen3": Qwen3}


def blas_in_use():
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower()})
    names = " ".join(libs).lower()
    if "openblas" in names:
        return "OpenBLAS", libs
    if "mkl" in names:
        return "MKL", libs
    if "libblas" in names:
        return "reference BLAS", libs
    return "unknown BLAS", libs


def main():
    """Loads, prints {"ready": true, "load_s", ...}, then serves one command per stdin line:
    {"shape": [b, p], "logits_out"?: path} runs one forward and prints {"t": seconds};
    {"exit": true} prints {"peak_rss_mb", "blas", ...} and exits."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True, help="JSON list of token id lists (the batch of the largest case)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    with open(f"{args.model}/config.json") as f:
        cfg = json.load(f)
    if cfg["model_type"] not in MODELS:
        raise SystemExit(f"_runtime_peer.py: no peer for model_type {cfg['model_type']!r} (have {', '.join(MODELS)})")
    model = MODELS[cfg["model_type"]](cfg)
    model.load_hf(read_checkpoint(args.model))
    model.eval()
    load_s = time.perf_counter() - t0
    with open(args.tokens) as f:
        tokens = torch.tensor(json.load(f), dtype=torch.long)
    reply = lambda obj: print(json.dumps(obj), flush=True)
    reply({"ready": True, "load_s": load_s, "torch": torch.__version__, "threads": torch.get_num_threads()})
    with torch.inference_mode():
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd.get("exit"):
                break
            b, p = cmd["shape"]
            ids = tokens[:b, :p].contiguous()
            t = time.perf_counter()
            logits = model(ids)
            dt = time.perf_counter() - t
            if cmd.get("logits_out"):
                logits[0].numpy().astype("<f4").tofile(cmd["logits_out"])
            del logits
            reply({"t": dt})
    blas, libs = blas_in_use()
    reply({
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "blas": blas,
        "blas_libs": libs,
    })


if __name__ == "__main__":
    sys.exit(main())

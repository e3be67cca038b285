"""A Llama in Hugging Face conventions, written out for TinyWorld (no transformers library), and
its checkpoint files.

Follows transformers' modeling_llama: RMSNorm x * rsqrt(mean(x^2) + eps) * w; RoPE with
rotate_half (pairs (i, i + d/2)) and inv_freq = theta^(-2i/d); grouped-query attention by
repeating KV heads; SwiGLU MLP. Module names are the checkpoint's keys (model.embed_tokens,
model.layers.{i}.self_attn.q_proj, …, lm_head), so saving and loading are key-by-key copies.
Passing a dict as `hooks` records every TransformerLens hook point in forward order.
reference.py --check-fixture checks this file against ../shared/fixtures/llama-stories260K.
"""
import json
import math
import os
import struct
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
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "model")
BOS_ID, EOS_ID, PAD_ID = 1, 2, 3


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



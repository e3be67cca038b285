#!/usr/bin/python3
"""PyTorch peer of the runtime benchmark (test/bench/runtime.ts): a minimal GPT-2 forward.

Loads the same Hugging Face GPT-2 checkpoint (safetensors parsed with numpy) and runs fp32 forward
passes under torch.inference_mode() with a given thread count, one per command on stdin, so the
benchmark can alternate them with interp's (both sides then see the same machine load).
Protocol: see main(). BLAS in use is read from /proc/self/maps.
Run it with Debian's /usr/bin/python3 (python3-torch); BLAS should be OpenBLAS (libopenblas0-pthread).
"""
import argparse, json, math, resource, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        raw = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=a).reshape(info["shape"]).copy())
    return out


class Block(nn.Module):
    def __init__(self, d, h, eps):
        super().__init__()
        self.h, self.ln_1, self.ln_2 = h, nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf")).softmax(dim=-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
        self.wte, self.wpe = nn.Embedding(V, d), nn.Embedding(P, d)
        self.h = nn.ModuleList(Block(d, cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(d, eps=cfg.get("layer_norm_epsilon", 1e-5))
        self.register_buffer("mask", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P), persistent=False)

    def load_hf(self, sd):
        """HF GPT2 state dict (Conv1D weights [in, out]) into nn.Linear ([out, in])."""
        sd = {k.removeprefix("transformer."): v for k, v in sd.items()}
        rename = {"attn.c_attn": "c_attn", "attn.c_proj": "c_proj", "mlp.c_fc": "c_fc", "mlp.c_proj": "mlp_proj"}
        mine = {}
        for k, v in sd.items():
            for a, b in rename.items():
                if f".{a}." in k:
                    k = k.replace(a, b)
                    v = v.t().contiguous() if k.endswith("weight") else v
            mine[k] = v
        mine.pop("lm_head.weight", None)  # tied to wte
        self.load_state_dict(mine, strict=True)

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T).unsqueeze(0))
        for block in self.h:
            x = block(x, self.mask)
        return F.linear(self.ln_f(x), self.wte.weight)


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
    model = GPT2(cfg)
    model.load_hf(read_safetensors(f"{args.model}/model.safetensors"))
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

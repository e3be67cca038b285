"""Held-out loss of the committed model against the generator's true entropy, and samples for the
grammar check.

    python3 datasets/tinyworld/evaluate.py [--samples 500] [--threads N]
    npx tsx datasets/tinyworld/scripts/check-samples.ts

Loss: mean -log p_model(token | prefix) over every token after <bos> of the held-out stories
(.data/heldout.bin, <eos> included), in nats. True entropy: the same mean under the generator's
exact next-token distribution, which prepare.ts computed with the generator's own code
(.data/heldout_true.json). Samples: stories drawn at temperature 1 from <bos> with a seeded
generator and a KV cache, written to .data/samples.json for check-samples.ts to parse.
"""
import argparse
import json
import math
import os

from llama import BOS_ID, EOS_ID, load_model, rope_tables, rotate_half  # first: sets OpenBLAS threads before torch loads
from train import DATA_DIR, load_stories, pad_batch, story_loss

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def heldout_loss(model, stories):
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(stories), 100):
            loss, n = story_loss(model, pad_batch(stories[i : i + 100]))
            total, count = total + loss.item() * n, count + n
    return total / count, count


def step_with_cache(model, ids, pos, cache):
    """Logits (B, V) for tokens `ids` (B,) at position `pos`, appending their keys/values to `cache`."""
    c = model.config
    dh = c["hidden_size"] // c["num_attention_heads"]
    cos, sin = rope_tables(torch.full((ids.shape[0], 1), pos), dh, c["rope_theta"])
    cos, sin = cos[:, None], sin[:, None]  # (B, 1, 1, dh)
    x = model.model.embed_tokens(ids)[:, None]  # (B, 1, d)
    for i, layer in enumerate(model.model.layers):
        a = layer.self_attn
        h = layer.input_layernorm(x)
        q = a.q_proj(h).view(-1, 1, a.h, a.dh).transpose(1, 2)
        k = a.k_proj(h).view(-1, 1, a.kv, a.dh).transpose(1, 2)
        v = a.v_proj(h).view(-1, 1, a.kv, a.dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if i in cache:
            k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
        cache[i] = (k, v)
        rep = a.h // a.kv
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        pattern = ((q @ k.transpose(-1, -2)) / math.sqrt(a.dh)).softmax(-1)  # (B, H, 1, t): all past keys
        x = x + a.o_proj((pattern @ v).transpose(1, 2).reshape(-1, 1, a.h * a.dh))
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(model.model.norm(x))[:, 0]


def sample(model, n, seed, temperature=1.0, batch=100):
    g = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        for b in range(0, n, batch):
            rows = min(batch, n - b)
            ids, cache = torch.full((rows,), BOS_ID), {}
            seqs, done = [[BOS_ID] for _ in range(rows)], torch.zeros(rows, dtype=torch.bool)
            for pos in range(model.config["max_position_embeddings"] - 1):
                logits = step_with_cache(model, ids, pos, cache)
                ids = torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=g)[:, 0]
                for r in range(rows):
                    if not done[r]:
                        seqs[r].append(int(ids[r]))
                done |= ids == EOS_ID
                if bool(done.all()):
                    break
            out += seqs
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model()

    # The cached sampler must agree with the full forward it shortcuts.
    probe = torch.tensor([[BOS_ID, 5, 9, 30, 12, 40, 7]])
    with torch.no_grad():
        full = model(probe)[0]
        cache = {}
        inc = torch.stack([step_with_cache(model, probe[:, t], t, cache)[0] for t in range(probe.shape[1])])
    assert float((full - inc).abs().max()) < 1e-4, "KV-cache step disagrees with the full forward"

    loss, count = heldout_loss(model, load_stories(os.path.join(DATA_DIR, "heldout.bin")))
    with open(os.path.join(DATA_DIR, "heldout_true.json")) as f:
        truth = json.load(f)
    assert truth["tokens"] == count, f"token counts differ: model {count}, generator {truth['tokens']}"
    gap = loss - truth["entropy_nats_per_token"]
    print(f"held-out: {truth['stories']} stories, {count} tokens")
    print(f"model loss   {loss:.4f} nats/token")
    print(f"true entropy {truth['entropy_nats_per_token']:.4f} nats/token (generator's exact distribution)")
    print(f"gap          {gap:.4f} nats/token (acceptance: < 0.15)")

    seqs = sample(model, args.samples, args.seed)
    with open(os.path.join(DATA_DIR, "samples.json"), "w") as f:
        json.dump({"temperature": 1.0, "seed": args.seed, "ids": seqs}, f)
    with open(os.path.join(DATA_DIR, "eval.json"), "w") as f:
        json.dump({"heldout_loss": loss, "true_entropy": truth["entropy_nats_per_token"], "gap": gap, "tokens": count}, f, indent=2)
    print(f"{len(seqs)} samples at temperature 1 -> .data/samples.json (check with scripts/check-samples.ts)")


if __name__ == "__main__":
    main()

"""Reference activations and a greedy continuation of the committed TinyWorld model, for `interp verify`.

    python3 datasets/tinyworld/reference.py            # writes model/reference.safetensors, model/greedy.json
    python3 datasets/tinyworld/reference.py --check-fixture ../shared/fixtures/llama-stories260K

The format is that of ../shared/fixtures (README there): input_ids (I64 [B,T]), logits, then every
TransformerLens hook in forward order, F32, computed by llama.py in fp32. Row 0 is the
first T_REF ids of greedy.json's full_sequence (BOS, a held-out story opening, then the greedy
continuation); row 1 is BOS followed by random ids. --check-fixture runs the same class on the stories260K
fixture and compares every tensor with its reference, which checks this code's Hugging Face
semantics (RoPE layout, GQA, RMSNorm) against code written by others.
"""
import argparse
import json
import os

from llama import BOS_ID, EOS_ID, MODEL_DIR, load_model, read_safetensors, write_safetensors  # first: sets OpenBLAS threads before torch loads
from train import DATA_DIR, load_stories
from evaluate import step_with_cache

import numpy as np  # noqa: E402
import torch  # noqa: E402

T_REF = 32  # positions in reference.safetensors
N_GREEDY = 48  # generated tokens in greedy.json


def capture(model, ids):
    """{"input_ids", "logits", hooks…} in forward order, as the fixtures store them."""
    hooks = {}
    with torch.no_grad():
        logits = model(ids, hooks)
    return {"input_ids": ids, "logits": logits, **hooks}


def greedy(model, prompt, n):
    """Greedy continuation by full recomputation each step (no cache: the plainest reference).
    Returns the generated ids and the top1 - top2 logit margin at each step."""
    ids, margins = list(prompt), []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids]))[0, -1]
            top = torch.topk(logits, 2).values
            margins.append(float(top[0] - top[1]))
            ids.append(int(logits.argmax()))
            if ids[-1] == EOS_ID:
                break
    return ids[len(prompt):], margins


def cached_min_margin(model, prompt, n):
    """The smallest top1 - top2 margin along the greedy path, with a KV cache (fast; for the search only)."""
    cache, margin = {}, float("inf")
    with torch.no_grad():
        for pos, t in enumerate(prompt):
            logits = step_with_cache(model, torch.tensor([t]), pos, cache)[0]
        for pos in range(len(prompt), len(prompt) + n):
            top = torch.topk(logits, 2)
            margin = min(margin, float(top.values[0] - top.values[1]))
            if int(top.indices[0]) == EOS_ID:
                return -1.0  # stories that end inside the window are not used
            logits = step_with_cache(model, top.indices[:1], pos, cache)[0]
    return margin


def choose_prompt(model, stories):
    """Among held-out story openings cut after a ".", the one whose greedy path has the largest
    smallest margin, so that fp32 differences between implementations cannot flip an argmax.
    Returns the prompt; greedy() then recomputes its path without a cache."""
    with open(os.path.join(MODEL_DIR, "tokenizer.json")) as f:
        period = json.load(f)["model"]["vocab"]["."]
    candidates = [s[: i + 1].tolist() for s in stories for i, t in enumerate(s.tolist()) if t == period]
    return max(candidates, key=lambda p: cached_min_margin(model, p, N_GREEDY))


def check_fixture(folder):
    model = load_model(folder)
    ref = read_safetensors(os.path.join(folder, "reference.safetensors"))
    got = capture(model, ref["input_ids"])
    worst = 0.0
    for name, want in ref.items():
        diff = float((got[name].double() - want.double()).abs().max())
        worst = max(worst, diff)
        print(f"{name:40s} max |diff| {diff:.2e}")
    print(f"largest difference over {len(ref)} tensors: {worst:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check-fixture", metavar="DIR", help="compare this Llama with a fixture folder and exit")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.check_fixture:
        return check_fixture(args.check_fixture)

    model = load_model()
    stories = load_stories(os.path.join(DATA_DIR, "heldout.bin"))[:150]
    prompt = choose_prompt(model, stories)
    gen, margins = greedy(model, prompt, N_GREEDY)
    margin = min(margins)
    full = prompt + gen
    print(f"greedy prompt of {len(prompt)} tokens, {len(gen)} generated, min top1-top2 margin {margin:.3f}")

    rng = np.random.default_rng(1234)
    row1 = [BOS_ID] + rng.integers(4, model.config["vocab_size"], T_REF - 1).tolist()
    ids = torch.tensor([full[:T_REF], row1], dtype=torch.int64)
    tensors = capture(model, ids)
    # The same forward in float64 measures the fp32 rounding in these numbers.
    model64 = load_model().double()
    err = float((capture(model64, ids)["logits"] - tensors["logits"].double()).abs().max())
    print(f"max |fp32 - fp64| logits: {err:.2e}")
    meta = {"generator": "datasets/tinyworld/reference.py: llama.py, PyTorch %s, fp32, no SDPA" % torch.__version__,
            "rope_theta": str(model.config["rope_theta"])}
    write_safetensors(os.path.join(MODEL_DIR, "reference.safetensors"), tensors, meta)

    gen64, _ = greedy(model64, prompt, N_GREEDY)
    out = {
        "prompt_ids": prompt,
        "max_new_tokens": N_GREEDY,
        "temperature": 0.0,
        "generated_ids": gen,
        "full_sequence": full,
        "llama_py_ids": gen,
        "llama_py_float64_ids": gen64,
        "llama_py_equals_float64": gen == gen64,
        "min_top1_top2_logit_margin": margin,
        "max_fp32_logit_error": err,
        "notes": "llama_py_ids: datasets/tinyworld/reference.py greedy() with llama.py in fp32, full recomputation "
                 "each step, prompt = a held-out story opening (BOS included) chosen for the largest smallest margin. "
                 "llama_py_float64_ids: the same in float64. max_fp32_logit_error: max |fp32 - fp64| over the reference logits.",
    }
    with open(os.path.join(MODEL_DIR, "greedy.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates sae/releases.json, interp's registry of public SAE releases, from SAELens' registry.

    python3 scripts/sae-releases-from-yaml.py PRETRAINED_SAES_YAML [OUT]

PRETRAINED_SAES_YAML is sae_lens/pretrained_saes.yaml of jbloomAus/SAELens; the checked-in
sae/releases.json was made from commit 91ca16cc. OUT defaults to sae/releases.json. Needs PyYAML
(Debian: apt-get install python3-yaml).

Only the releases in SUBSET are kept, and of each only what `interp sae import` and `interp sae
list` use: the hub repository, the model, SAELens' conversion_func and the interp layout it maps to,
and per SAE its id, folder (path), interp hook name, and l0 / neuronpedia / norm_scaling_factor when
SAELens gives them. Hook names are derived here, once, by the rules in hook_of(); the script fails
on any id or path those rules do not cover, so a changed yaml cannot produce a silently wrong
registry. The output is deterministic (SUBSET order, SAELens' order of ids), one SAE per line.
"""

import json
import re
import sys

SOURCE = {"repo": "jbloomAus/SAELens", "path": "sae_lens/pretrained_saes.yaml", "commit": "91ca16cc"}

SUBSET = [
    "gpt2-small-res-jb",
    "gpt2-small-resid-post-v5-32k",
    "gpt2-small-resid-post-v5-128k",
    "gpt2-small-mlp-out-v5-32k",
    "gemma-scope-2b-pt-res",
    "gemma-scope-2b-pt-res-canonical",
    "gemma-scope-2b-pt-mlp-canonical",
    "gemma-scope-2b-pt-att-canonical",
    "gemma-scope-9b-pt-res-canonical",
    "gemma-scope-2b-pt-transcoders",
    "llama_scope_lxr_8x",
    "llama_scope_lxa_8x",
    "llama_scope_lxm_8x",
    "pythia-70m-deduped-res-sm",
]

# SAELens' conversion_func → the interp layout of the files in each SAE folder (None: SAELens' own).
# mwhanna_transcoder has no interp layout and is refused. gemma_3 (Gemma Scope 2) entries are in
# SAELens' yaml only after 91ca16cc; hook_of() has their rule, so that a newer yaml's Gemma Scope 2
# releases can be added to SUBSET (and SOURCE's commit moved) without further changes here.
LAYOUTS = {
    None: "saelens",
    "gemma_2": "gemma-scope",
    "gemma_3": "gemma-scope-2",
    "llama_scope": "llama-scope",
    "sparsify": "sparsify",
    "gemma_2_transcoder": "gemma-scope-transcoder",
}

# A TransformerLens hook name as SAELens-layout ids spell them (the id is the hook).
HOOK_NAME = re.compile(r"^(hook_embed|blocks\.\d+\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_mlp_out|hook_attn_out|attn\.hook_z))$")


def fail(message):
    sys.exit(f"sae-releases-from-yaml: {message}")


def layer_of(release, sae):
    m = re.match(r"^layer_(\d+)/", sae["path"])
    if not m:
        fail(f"{release}: cannot read the layer from path {sae['path']!r}")
    return int(m.group(1))


def hook_of(release, info, sae):
    """(hook, hook_out or None): the interp hook names of one SAE of `release`."""
    layout = LAYOUTS[info.get("conversion_func")]
    if layout == "saelens":
        if not HOOK_NAME.match(sae["id"]):
            fail(f"{release}: SAELens-layout id {sae['id']!r} is not a hook name")
        return sae["id"], None
    if layout == "gemma-scope":
        # The site is in the repository name (…-pt-res, -mlp, -att), the layer in the folder.
        site = re.search(r"-pt-(res|mlp|att)$", info["repo_id"])
        if not site:
            fail(f"{release}: cannot tell the site of {info['repo_id']}")
        if site.group(1) == "res" and sae["path"].startswith("embedding/"):
            return "hook_embed", None
        layer = layer_of(release, sae)
        return {"res": f"blocks.{layer}.hook_resid_post", "mlp": f"blocks.{layer}.hook_mlp_out", "att": f"blocks.{layer}.attn.hook_z"}[site.group(1)], None
    if layout == "gemma-scope-transcoder":
        layer = layer_of(release, sae)
        return f"blocks.{layer}.ln2.hook_normalized", f"blocks.{layer}.hook_mlp_out"
    if layout == "gemma-scope-2":
        # Gemma Scope 2 (google/gemma-scope-2-*): one repository per model, a folder per site,
        # `SITE[_all]/layer_L_width_W_l0_SIZE[_affine]`. The sites and hooks follow SAELens'
        # gemma_3 loader (_infer_gemma_3_raw_cfg_dict): resid_post reads model.layers.L.output,
        # attn_out the input of o_proj (per-head z, d_in = heads · d_head), mlp_out the
        # post-feedforward norm's output, and a transcoder the pre-feedforward norm's output
        # (what the MLP reads, as Gemma Scope's transcoders) predicting mlp_out. Cross-layer
        # transcoders (clt/) and crosscoders read several layers: no interp hook, refused.
        m = re.match(r"^(resid_post|attn_out|mlp_out|transcoder)(?:_all)?/layer_(\d+)_width_[0-9]+[km]_l0_[a-z0-9]+(?:_affine)?$", sae["path"])
        if not m:
            fail(f"{release}: no interp hook for Gemma Scope 2 folder {sae['path']!r}")
        site, layer = m.group(1), int(m.group(2))
        if site == "transcoder":
            return f"blocks.{layer}.ln2.hook_normalized", f"blocks.{layer}.hook_mlp_out"
        return {"resid_post": f"blocks.{layer}.hook_resid_post", "attn_out": f"blocks.{layer}.attn.hook_z", "mlp_out": f"blocks.{layer}.hook_mlp_out"}[site], None
    if layout == "llama-scope":
        # ids l{L}{r,a,m}_8x, folders Llama3_1-8B-Base-L{L}{R,A,M}-8x: the two must agree.
        m = re.match(r"^l(\d+)([ram])_8x$", sae["id"])
        if not m or not sae["path"].endswith(f"-L{m.group(1)}{m.group(2).upper()}-8x"):
            fail(f"{release}: Llama Scope id {sae['id']!r} and path {sae['path']!r} do not match")
        layer = int(m.group(1))
        return {"r": f"blocks.{layer}.hook_resid_post", "a": f"blocks.{layer}.hook_attn_out", "m": f"blocks.{layer}.hook_mlp_out"}[m.group(2)], None
    fail(f"{release}: no hook rule for layout {layout}")


def convert(release, info):
    conversion = info.get("conversion_func")
    if conversion not in LAYOUTS:
        fail(f"{release}: conversion_func {conversion!r} has no interp layout")
    saes = []
    for sae in info["saes"]:
        hook, hook_out = hook_of(release, info, sae)
        row = {"id": sae["id"], "path": sae["path"], "hook": hook}
        if hook_out:
            row["hook_out"] = hook_out
        for key in ("l0", "neuronpedia", "norm_scaling_factor"):
            if sae.get(key) is not None:
                row[key] = sae[key]
        saes.append(row)
    ids = [s["id"] for s in saes]
    if len(set(ids)) != len(ids):
        fail(f"{release}: duplicate ids")
    return {"repo_id": info["repo_id"], "model": info["model"], "conversion_func": conversion, "layout": LAYOUTS[conversion], "saes": saes}


def dump(doc):
    """JSON with one SAE per line: small diffs when the yaml changes, still plain JSON."""
    lines = ["{"]
    for key in ("format", "format_version", "source", "generated_by", "note"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key])},")
    lines.append('  "releases": {')
    names = list(doc["releases"])
    for i, name in enumerate(names):
        rel = doc["releases"][name]
        lines.append(f"    {json.dumps(name)}: {{")
        for key in ("repo_id", "model", "conversion_func", "layout"):
            lines.append(f"      {json.dumps(key)}: {json.dumps(rel[key])},")
        lines.append('      "saes": [')
        rows = [f"        {json.dumps(s)}" for s in rel["saes"]]
        lines.append(",\n".join(rows))
        lines.append("      ]")
        lines.append("    }" + ("," if i < len(names) - 1 else ""))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: sae-releases-from-yaml.py PRETRAINED_SAES_YAML [OUT]")
    try:
        import yaml
    except ImportError:
        fail("needs PyYAML (Debian: apt-get install python3-yaml; else pip install pyyaml)")
    with open(sys.argv[1], encoding="utf-8") as f:
        registry = yaml.safe_load(f)
    missing = [r for r in SUBSET if r not in registry]
    if missing:
        fail(f"not in {sys.argv[1]}: {', '.join(missing)}")
    doc = {
        "format": "interp.sae-releases",
        "format_version": 1,
        "source": SOURCE,
        "generated_by": "scripts/sae-releases-from-yaml.py",
        "note": "a subset of SAELens' pretrained_saes.yaml; regenerate with the script, do not edit by hand",
        "releases": {r: convert(r, registry[r]) for r in SUBSET},
    }
    out = sys.argv[2] if len(sys.argv) == 3 else "sae/releases.json"
    with open(out, "w", encoding="utf-8") as f:
        f.write(dump(doc))
    print(f"{out}: {len(SUBSET)} releases, {sum(len(r['saes']) for r in doc['releases'].values())} SAEs", file=sys.stderr)


if __name__ == "__main__":
    main()

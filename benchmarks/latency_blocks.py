"""Where a chunk's time goes: each block of the policy network timed alone, in torch and ONNX Runtime.

Blocks of a policy whose framework composes VLM tokens and state (the default experiment: EfficientNet
image tokens, MiniLM instruction token, MLP state encoder, flow-matching DiT head): the image encoder,
the text encoder, the state encoder, the head's feature keys/values, one denoising step and the head's
whole sampling; then the whole network both ways it exports: one graph that encodes the instruction
on every call (as bundles did before text graphs), and the split export (``text.onnx`` once per
instruction, the policy graph every call), also end to end through ``Policy.act`` (tokenizer,
normalization, cache lookup, clipping). Batch 1, ``--threads`` intra-op threads, distinct observations
on every call (``inference_latency.observation_pool``), every row timed in the same loop, call by
call in alternating order, so a change in the machine's load touches them alike and the ratios hold.
The graphs are exported here from the bundle's weights (nothing in the bundle changes); the machine
(CPU model, ISA flags, load) is printed and stored beside the figures.

    python benchmarks/latency_blocks.py --policy outputs/default --out benchmarks/results/latency_blocks.json
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from inference_latency import WARMUP, observation_pool, raw_observation

from librobot.machine import machine_info, machine_line

ACT_CHUNK_MS = 28.9  # LeRobot ACT's chunk latency measured on this machine kind (issue 17): the target is 1/4 of it


@dataclass
class Row:
    name: str
    engine: str  # torch | onnxruntime
    run: Callable[[int], Any]  # call index -> anything (the output is not used)
    times: list[float]


def sessions(paths: dict[str, Path], threads: int) -> dict[str, Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return {k: ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"]) for k, p in paths.items()}


def block_modules(model: Any) -> dict[str, Any]:
    """The blocks as torch modules with tensor inputs and outputs (what the ONNX block graphs export)."""
    import torch

    vlm, head = model.vlm, model.action_head

    class ImageTokens(torch.nn.Module):  # the VLM on images; the instruction's tokens are only appended
        def forward(self, images, text_tokens, text_mask):
            return vlm.forward_text_features(images, text_tokens, text_mask, use_cache=False)

    class StateTokens(torch.nn.Module):
        def forward(self, state):
            return model.state_encoder(state)

    class FeatureKV(torch.nn.Module):
        def forward(self, features, feature_mask):
            kvs, _ = head.context(features, feature_mask)
            return torch.stack([torch.stack(kv) for kv in kvs])

    class DenoisingStep(torch.nn.Module):
        def forward(self, noise, t, feature_mask, kv):  # the first step's input is the noise itself
            return head.denoiser(noise, t, ([(layer[0], layer[1]) for layer in kv], feature_mask))

    class Sampling(torch.nn.Module):
        def forward(self, features, feature_mask, noise):
            return head.predict(features, feature_mask, noise=noise)

    return {
        "image": ImageTokens(),
        "state": StateTokens(),
        "kv": FeatureKV(),
        "step": DenoisingStep(),
        "sampling": Sampling(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="a trained bundle (the default experiment's, for the issue)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch and ORT intra-op threads (recorded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--opset", type=int, default=18)
    parser.add_argument("--out", default="benchmarks/results/latency_blocks.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from librobot.bundle import load_bundle
    from librobot.inference.onnx_export import export_graph, export_module, export_text_graph, model_feeds
    from librobot.inference.policy import Policy
    from librobot.inference.runtime import OrtRuntime, TorchRuntime
    from librobot.inference.tokenizer import save_tokenizer

    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    bundle = load_bundle(args.policy)
    model, normalizer = bundle.model.eval(), bundle.normalizer
    head = model.action_head
    if not model.splits_text() or not hasattr(head, "denoiser"):
        raise SystemExit(
            f"{type(model).__name__} + {type(model.vlm).__name__} + {type(head).__name__}: this profile needs a "
            "framework that encodes the instruction apart (splits_text) and a sampling head (a denoiser)"
        )
    calls = WARMUP + args.repeats
    pool = observation_pool(args.policy, calls, 1, args.seed)
    feeds = [model_feeds(model, normalizer, pool.slice(i, i + 1), seed=args.seed + i) for i in range(calls)]
    t = [{k: torch.from_numpy(v) for k, v in f.items()} for f in feeds]
    blocks = block_modules(model)
    steps = int(head.cfg.num_inference_steps)
    with torch.inference_mode():  # every block's inputs, computed once per call (not timed)
        for x in t:
            x["text_tokens"], x["text_mask"] = model.text_features(x["input_ids"], x["attention_mask"])
            vlm_tokens, vlm_mask = blocks["image"](x["images"], x["text_tokens"], x["text_mask"])
            x["features"], x["feature_mask"] = model.compose(vlm_tokens, vlm_mask, x["state"], None)
            x["kv"] = blocks["kv"](x["features"], x["feature_mask"])
            x["t"] = torch.ones(1)
    print(
        f"policy: {type(model).__name__}, {t[0]['features'].shape[1]} feature tokens, "
        f"{t[0]['text_tokens'].shape[1]} instruction token(s), {steps} denoising steps",
        flush=True,
    )

    tmp = Path(tempfile.mkdtemp(prefix="latency_blocks_"))  # ~250 MB of graphs, removed at exit
    atexit.register(shutil.rmtree, tmp, True)
    export_feeds = model_feeds(model, normalizer, pool.slice(0, 2), seed=args.seed)  # batch 2: dynamic batch
    print(f"exporting the graphs to {tmp} ...", flush=True)
    with torch.no_grad():
        export_graph(model, export_feeds, tmp / "single" / "policy.onnx", args.opset)
        export_text_graph(model, export_feeds, tmp / "split" / "text.onnx", args.opset)
        export_graph(model, export_feeds, tmp / "split" / "policy.onnx", args.opset, from_text=True)
        block_inputs = {
            "image": ["images", "text_tokens", "text_mask"],
            "state": ["state"],
            "kv": ["features", "feature_mask"],
            "step": ["noise", "t", "feature_mask", "kv"],
            "sampling": ["features", "feature_mask", "noise"],
        }
        for name, inputs in block_inputs.items():
            example = {k: t[0][k] for k in inputs}
            export_module(blocks[name], example, [f"{name}_out"], None, tmp / "blocks" / f"{name}.onnx", args.opset)
    save_tokenizer(model, tmp / "tokenizer")
    ort = sessions(
        {
            **{name: tmp / "blocks" / f"{name}.onnx" for name in block_inputs},
            "text": tmp / "split" / "text.onnx",
            "single": tmp / "single" / "policy.onnx",
            "split": tmp / "split" / "policy.onnx",
        },
        args.threads,
    )

    def ort_run(session: str, names: list[str]) -> Callable[[int], Any]:
        feeds_np = [{k: x[k].numpy() for k in names} for x in t]
        return lambda i: ort[session].run(None, feeds_np[i])

    policies = {
        "one graph": Policy(
            OrtRuntime(tmp / "single" / "policy.onnx", tmp / "tokenizer", threads=args.threads), bundle.spec
        ),
        "split": Policy(
            OrtRuntime(tmp / "split" / "policy.onnx", tmp / "tokenizer", threads=args.threads), bundle.spec
        ),
        "torch": Policy(TorchRuntime(model), bundle.spec),
    }
    raw = [raw_observation(pool, i, 1, bundle.cameras) for i in range(calls)]
    tokenizer = policies["split"].runtime.tokenizer  # type: ignore[attr-defined]

    def torch_run(fn: Callable[[dict], Any]) -> Callable[[int], Any]:
        def run(i: int) -> Any:
            with torch.inference_mode():
                return fn(t[i])

        return run

    obs_args = ("images", "state")
    rows = [
        Row(
            "image encoder (VLM image tokens)",
            "torch",
            torch_run(lambda x: blocks["image"](x["images"], x["text_tokens"], x["text_mask"])),
            [],
        ),
        Row("image encoder (VLM image tokens)", "onnxruntime", ort_run("image", block_inputs["image"]), []),
        Row(
            "text encoder (instruction tokens)",
            "torch",
            torch_run(lambda x: model.text_features(x["input_ids"], x["attention_mask"])),
            [],
        ),
        Row("text encoder (instruction tokens)", "onnxruntime", ort_run("text", ["input_ids", "attention_mask"]), []),
        Row("tokenizer (one instruction)", "onnxruntime", lambda i: tokenizer(raw[i]["instruction"]), []),
        Row("state encoder", "torch", torch_run(lambda x: blocks["state"](x["state"])), []),
        Row("state encoder", "onnxruntime", ort_run("state", ["state"]), []),
        Row(
            "head: feature keys/values (once a chunk)",
            "torch",
            torch_run(lambda x: blocks["kv"](x["features"], x["feature_mask"])),
            [],
        ),
        Row("head: feature keys/values (once a chunk)", "onnxruntime", ort_run("kv", block_inputs["kv"]), []),
        Row(
            "head: one denoising step",
            "torch",
            torch_run(lambda x: blocks["step"](x["noise"], x["t"], x["feature_mask"], x["kv"])),
            [],
        ),
        Row("head: one denoising step", "onnxruntime", ort_run("step", block_inputs["step"]), []),
        Row(
            f"head: full sampling ({steps} steps)",
            "torch",
            torch_run(lambda x: blocks["sampling"](x["features"], x["feature_mask"], x["noise"])),
            [],
        ),
        Row(f"head: full sampling ({steps} steps)", "onnxruntime", ort_run("sampling", block_inputs["sampling"]), []),
        Row(
            "network, instruction encoded every call",
            "torch",
            torch_run(
                lambda x: model.export_forward(
                    *(x[k] for k in obs_args), x["input_ids"], x["attention_mask"], x["noise"]
                )
            ),
            [],
        ),
        Row(
            "network, instruction encoded every call",
            "onnxruntime",
            ort_run("single", ["images", "state", "input_ids", "attention_mask", "noise"]),
            [],
        ),
        Row(
            "network, instruction features given",
            "torch",
            torch_run(
                lambda x: model.export_forward_from_text(
                    *(x[k] for k in obs_args), x["text_tokens"], x["text_mask"], x["noise"]
                )
            ),
            [],
        ),
        Row(
            "network, instruction features given",
            "onnxruntime",
            ort_run("split", ["images", "state", "text_tokens", "text_mask", "noise"]),
            [],
        ),
        Row("Policy.act, one graph (before)", "onnxruntime", lambda i: policies["one graph"].act(raw[i], seed=i), []),
        Row(
            "Policy.act, text graph cached (after)", "onnxruntime", lambda i: policies["split"].act(raw[i], seed=i), []
        ),
        Row("Policy.act, torch runtime (feature caches)", "torch", lambda i: policies["torch"].act(raw[i], seed=i), []),
    ]
    print(f"timing {len(rows)} rows x {args.repeats} calls (+{WARMUP} warm-up) ...", flush=True)
    for call in range(calls):
        for row in rows if call % 2 == 0 else rows[::-1]:
            started = time.perf_counter()
            row.run(call)
            if call >= WARMUP:  # the first calls allocate: not timed
                row.times.append(1000 * (time.perf_counter() - started))

    table: dict[str, dict[str, float]] = {}  # median ms per row and engine
    p10: dict[str, dict[str, float]] = {}  # 10th percentile: closer to the cost when no neighbour preempts
    for row in rows:
        table.setdefault(row.name, {})[row.engine] = round(float(np.median(row.times)), 3)
        p10.setdefault(row.name, {})[row.engine] = round(float(np.percentile(row.times, 10)), 3)
    text_graph_calls = policies["split"].runtime.text.graph_calls  # type: ignore[attr-defined]
    before = table["Policy.act, one graph (before)"]["onnxruntime"]
    after = table["Policy.act, text graph cached (after)"]["onnxruntime"]
    step = table["head: one denoising step"]
    sampling = table[f"head: full sampling ({steps} steps)"]["onnxruntime"]
    summary = {
        "policy_act_onnx_before_ms": before,
        "policy_act_onnx_after_ms": after,
        "speedup_after_vs_before": round(before / after, 3),
        "policy_act_onnx_before_p10_ms": p10["Policy.act, one graph (before)"]["onnxruntime"],
        "policy_act_onnx_after_p10_ms": p10["Policy.act, text graph cached (after)"]["onnxruntime"],
        "text_graph_calls": text_graph_calls,
        "instructions": len(set(pool.instructions)),
        "denoising_steps": steps,
        # inside the unrolled graph a step costs less than the one-step graph alone (shared shapes, no session
        # call per step): the head's share is its whole sampling over the split policy graph
        "sampling_share_of_split_graph": round(
            sampling / table["network, instruction features given"]["onnxruntime"], 3
        ),
        "ms_per_step_in_sampling": round(
            (sampling - table["head: feature keys/values (once a chunk)"]["onnxruntime"]) / steps, 3
        ),
        "ms_one_step_graph": step["onnxruntime"],
        "act_chunk_ms": ACT_CHUNK_MS,
        "target_ms": round(ACT_CHUNK_MS / 4, 2),
        "after_vs_act": round(after / ACT_CHUNK_MS, 3),
    }
    width = max(len(name) for name in table)
    print(f"\n{'block (batch 1, ms: median / p10)':<{width}}  {'torch':>15}  {'ORT':>15}")
    for name, cols in table.items():
        cells = [
            f"{cols[e]:7.2f} /{p10[name][e]:6.2f}" if e in cols else f"{'-':>15}" for e in ("torch", "onnxruntime")
        ]
        print(f"{name:<{width}}  {cells[0]}  {cells[1]}")
    print(
        f"\nPolicy.act on ONNX Runtime: {before:.2f} ms with one graph -> {after:.2f} ms with the text graph cached "
        f"({before / after:.2f}x; the text graph ran {text_graph_calls} times for {summary['instructions']} "
        f"instructions over {calls} calls); {after / ACT_CHUNK_MS:.2f}x ACT's {ACT_CHUNK_MS} ms "
        f"(target <= 0.25x); the head's {steps} denoising steps are {summary['sampling_share_of_split_graph']:.0%} "
        f"of the split policy graph, {summary['ms_per_step_in_sampling']:.2f} ms a step\nmachine after: load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    report = {
        "policy": str(Path(args.policy).resolve()),
        "threads": args.threads,
        "batch": 1,
        "repeats": args.repeats,
        "machine": machine,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "observations": "distinct frames and states from the bundle's dataset on every call; the instruction "
        "repeats (the dataset's tasks), as a robot's does over an episode",
        "rows_median_ms": table,
        "rows_p10_ms": p10,
        "summary": summary,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

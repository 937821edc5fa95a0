"""Export a bundle's policy to ONNX, check it against torch, and quantize it under gates.

The policy graph is ``framework.export_forward(images, state, input_ids, attention_mask, noise)``
with the denoising loop unrolled at the configured step count (docs/serving.md says why), batch
dynamic. Where the framework encodes the instruction apart (``splits_text``, ``export.text_graph``),
the instruction becomes a graph of its own: ``text.onnx`` is ``framework.text_features(input_ids,
attention_mask) -> text_tokens, text_mask`` and ``policy.onnx`` is ``export_forward_from_text(images,
state, text_tokens, text_mask, noise)``, so a runtime encodes each instruction once
(``text_features.py``). The fp32 gate runs the whole served path (text graph, its cache, policy
graph) against torch's single ``export_forward``. Sampling heads take the noise as an input, so ONNX
Runtime and torch are compared on the same noise and the export is deterministic. Files go to
``<bundle>/onnx/``; the parity report goes to ``metadata.json["export"]`` and is returned.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from librobot.bundle import METADATA_FILE, load_bundle, read_json, update_metadata
from librobot.checkpoint import scratch_dir
from librobot.choices import Int8Mode, QuantizeMode
from librobot.config import ExperimentConfig
from librobot.inference.config import ExportConfig
from librobot.inference.policy import ONNX_FILES, TOKENIZER_DIR
from librobot.inference.runtime import ONNX_INPUTS, ONNX_INPUTS_FROM_TEXT, ONNX_OUTPUT
from librobot.inference.samples import ObservationBatch, recorded_observations
from librobot.inference.text_features import (
    TEXT_ONNX_FILE,
    TEXT_ONNX_INPUTS,
    TEXT_ONNX_OUTPUTS,
    TextFeatures,
    pad_rows,
    takes_text_features,
)
from librobot.inference.tokenizer import save_tokenizer
from librobot.logging import get_logger

log = get_logger("inference.export")


class ExportParityError(ValueError):
    """The exported (or quantized) graph disagrees with torch beyond the configured gate."""


def export_config(bundle_cfg: ExperimentConfig | None, **overrides: Any) -> ExportConfig:
    """The bundle's ``export`` section (defaults where absent) with non-None ``overrides`` applied."""
    cfg = dataclasses.replace(bundle_cfg.export) if bundle_cfg is not None else ExportConfig()  # a copy to set
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    if cfg.quantize is not None:
        QuantizeMode.parse(cfg.quantize, "export.quantize (or null)")
    Int8Mode.parse(cfg.int8_mode, "export.int8_mode")
    return cfg


def parity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Max and mean abs error, cosine similarity (flattened, and the worst single sample), finiteness."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1)
    got = np.asarray(candidate, np.float64).reshape(len(candidate), -1)
    if ref.shape != got.shape:
        raise ExportParityError(f"outputs have shape {got.shape}; torch gives {ref.shape}")

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        denom = np.linalg.norm(a) * np.linalg.norm(b)
        return float(a @ b / denom) if denom > 0 else float(np.allclose(a, b))

    return {
        "max_abs_err": float(np.abs(ref - got).max()),
        "mean_abs_err": float(np.abs(ref - got).mean()),
        "cosine": cos(ref.ravel(), got.ravel()),
        "cosine_min_sample": min(cos(r, g) for r, g in zip(ref, got, strict=True)),
        "finite": bool(np.isfinite(got).all()),
    }


def _gate(
    name: str, metrics: dict[str, Any], max_abs_err: float, min_cosine: float, min_cosine_overall: float = 0.0
) -> dict[str, Any]:
    # comparisons with NaN are False, so a NaN metric fails too
    passed = (
        metrics["finite"]
        and metrics["max_abs_err"] <= max_abs_err
        and metrics["cosine_min_sample"] >= min_cosine
        and metrics["cosine"] >= min_cosine_overall
    )
    return {
        **metrics,
        "gate": {"max_abs_err": max_abs_err, "min_cosine": min_cosine, "min_cosine_overall": min_cosine_overall},
        "passed": bool(passed),
        "name": name,
    }


# -- inputs ----------------------------------------------------------------------------------------
def model_feeds(model: Any, normalizer: Any, obs: ObservationBatch, seed: int) -> dict[str, np.ndarray]:
    """Every graph input for ``obs``, as numpy: tokens from the framework, state normalized, shared noise."""
    tokens = model.tokenize(list(obs.instructions))
    feeds = {
        "images": np.ascontiguousarray(obs.images, dtype=np.uint8),
        "state": normalizer.normalize("observation.state", obs.state).astype(np.float32),
        "input_ids": tokens["input_ids"].cpu().numpy().astype(np.int64),
        "attention_mask": tokens["attention_mask"].cpu().numpy().astype(np.int64),
    }
    shape = model.noise_shape(len(obs))
    if shape is not None:
        feeds["noise"] = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return feeds


def torch_reference(model: Any, feeds: dict[str, np.ndarray], batch: int = 8) -> np.ndarray:
    import torch

    outs = []
    with torch.inference_mode():
        for start in range(0, len(feeds["images"]), batch):
            args = [torch.from_numpy(feeds[k][start : start + batch]) if k in feeds else None for k in ONNX_INPUTS]
            outs.append(model.export_forward(*args).float().cpu().numpy())
    return np.concatenate(outs)


def torch_text_features(model: Any, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """torch's instruction features for the feeds' token ids: what the text graph must reproduce."""
    import torch

    with torch.inference_mode():
        tokens, mask = model.text_features(
            torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])
        )
    return tokens.float().cpu().numpy(), mask.cpu().numpy().astype(bool)


def graph_feeds(path: Path, input_names: Sequence[str], feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs the policy graph at ``path`` takes, from ``model_feeds``' token ids: a graph that takes
    the instruction's features gets them from the text graph beside it, through the runtime's cache."""
    out = {k: v for k, v in feeds.items() if k in input_names}
    if takes_text_features(list(input_names)):
        text = TextFeatures(path.parent / TEXT_ONNX_FILE, threads=1)
        out["text_tokens"], out["text_mask"] = text(feeds["input_ids"], feeds["attention_mask"])
    return out


def graph_inputs(path: Path) -> list[str]:
    """The input names of the ONNX graph at ``path``."""
    import onnx

    return [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


def ort_outputs(path: Path, feeds: dict[str, np.ndarray], batch: int = 8) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = graph_feeds(path, [i.name for i in session.get_inputs()], feeds)
    outs = []
    for start in range(0, len(feeds["images"]), batch):
        outs.append(session.run([ONNX_OUTPUT], {k: v[start : start + batch] for k, v in inputs.items()})[0])
    return np.concatenate(outs)


# -- export ----------------------------------------------------------------------------------------
def export_graph(model: Any, feeds: dict[str, np.ndarray], path: Path, opset: int, from_text: bool = False) -> Path:
    """torch.onnx.export (dynamo) of the policy graph with a dynamic batch, weights inside the file:
    ``model.export_forward`` (token ids in), or ``export_forward_from_text`` (the text graph's outputs in)."""
    import torch

    class ExportForward(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, images, state, input_ids, attention_mask, noise=None):
            return self.inner.export_forward(images, state, input_ids, attention_mask, noise)

    class ExportForwardFromText(ExportForward):
        def forward(self, images, state, text_tokens, text_mask, noise=None):
            return self.inner.export_forward_from_text(images, state, text_tokens, text_mask, noise)

    example = {k: torch.from_numpy(v[:2]) for k, v in feeds.items()}  # batch 2: 0/1 would be specialized
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=4096)  # instructions pad to the longest in a batch
    dynamic: dict[str, dict[int, Any]] = {k: {0: batch} for k in (*ONNX_INPUTS, *ONNX_INPUTS_FROM_TEXT)}
    dynamic["input_ids"] = dynamic["attention_mask"] = {0: batch, 1: seq}
    if from_text:
        example["text_tokens"], example["text_mask"] = model.text_features(
            example["input_ids"], example["attention_mask"]
        )
        if example["text_tokens"].shape[1] > 1:  # word pieces pad to the longest; one pooled token is fixed
            dynamic["text_tokens"] = dynamic["text_mask"] = {0: batch, 1: seq}
    names = [k for k in (ONNX_INPUTS_FROM_TEXT if from_text else ONNX_INPUTS) if k in example]
    module = (ExportForwardFromText if from_text else ExportForward)(model)
    return export_module(module, {k: example[k] for k in names}, [ONNX_OUTPUT], dynamic, path, opset)


def export_text_graph(model: Any, feeds: dict[str, np.ndarray], path: Path, opset: int) -> Path:
    """The text graph: ``model.text_features(input_ids, attention_mask) -> text_tokens, text_mask``."""
    import torch

    class TextForward(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner.text_features(input_ids, attention_mask)

    example = {k: torch.from_numpy(feeds[k][:2]) for k in TEXT_ONNX_INPUTS}
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=1, max=4096)
    dynamic: dict[str, dict[int, Any]] = {k: {0: batch, 1: seq} for k in TEXT_ONNX_INPUTS}
    return export_module(TextForward(model), example, list(TEXT_ONNX_OUTPUTS), dynamic, path, opset)


def export_module(
    module: Any,
    example: dict[str, Any],
    outputs: list[str],
    dynamic: dict[str, dict[int, Any]] | None,
    path: Path,
    opset: int,
) -> Path:
    """torch.onnx.export as every librobot graph is exported: dynamo, ``module(**example)`` with inputs named
    by ``example``'s keys, weights inside the file, optimized; ``dynamic`` None: static shapes."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module.eval(),
        (),
        str(path),
        kwargs=example,
        input_names=list(example),
        output_names=outputs,
        dynamic_shapes=None if dynamic is None else {k: dynamic[k] for k in example},
        opset_version=opset,
        dynamo=True,
        external_data=False,
        optimize=True,
        verbose=False,
    )
    return path


def nodes_in_modules(path: Path, suffixes: list[str]) -> list[str]:
    """Names of the graph nodes exported from modules whose name ends with one of ``suffixes``.

    The dynamo exporter records each node's module path in its metadata (``name_scopes``).
    """
    import onnx

    if not suffixes:
        return []
    graph = onnx.load(str(path), load_external_data=False).graph
    out = []
    for node in graph.node:
        for prop in node.metadata_props:
            if prop.key == "pkg.torch.onnx.name_scopes" and any(
                scope.endswith(tuple(suffixes)) for scope in json.loads(prop.value.replace("'", '"'))
            ):
                out.append(node.name)
    return out


def quantize_int8(
    fp32: Path,
    out: Path,
    mode: str,
    calibration: dict[str, np.ndarray] | None,
    exclude: Sequence[str] = (),
    op_types: Sequence[str] = ("MatMul", "Gemm"),
) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepped = out.with_name(out.stem + ".prep.onnx")
    # ONNX Runtime's quantizer writes its calibration models through tempfile: keep them beside the
    # graph, so a killed export leaves nothing in /tmp (the next export removes what it left)
    with scratch_dir(out.parent):
        quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        _quantize(prepped, out, mode, calibration, exclude, op_types)
    return out


def _quantize(prepped: Path, out: Path, mode: str, calibration, exclude, op_types) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    try:
        if mode == "dynamic":
            quantize_dynamic(
                str(prepped),
                str(out),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=list(op_types),
                nodes_to_exclude=list(exclude),
            )
        else:
            if calibration is None:
                raise ValueError("static int8 quantization needs calibration observations")
            quantize_static(
                str(prepped),
                str(out),
                _CalibrationReader(calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=False,  # per-tensor QDQ fuses into integer matmuls; per-channel ran slower than fp32
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=list(op_types),
                nodes_to_exclude=list(exclude),
                extra_options={"ActivationSymmetric": True},
            )
    finally:
        prepped.unlink(missing_ok=True)


class _CalibrationReader:
    """Feeds one recorded observation at a time to ONNX Runtime's calibrator."""

    def __init__(self, feeds: dict[str, np.ndarray]) -> None:
        self.feeds = feeds
        self.i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.feeds["images"]):
            return None
        item = {k: v[self.i : self.i + 1] for k, v in self.feeds.items()}
        self.i += 1
        return item

    def rewind(self) -> None:
        self.i = 0


def quantize_int4(fp32: Path, out: Path, block_size: int, exclude: Sequence[str] = ()) -> Path:
    """Weight-only int4 of the MatMuls (ONNX Runtime's MatMulNBits); activations stay float."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(fp32)), bits=4, block_size=block_size, is_symmetric=True, nodes_to_exclude=list(exclude)
    )
    quantizer.process()
    onnx.save_model(quantizer.model.model, str(out))
    return out


def export_policy(
    bundle_dir: str | Path,
    quantize: str | None = None,
    int8_mode: str | None = None,
    cfg: ExportConfig | None = None,
    closed_loop: ClosedLoopRunner | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Export ``bundle_dir`` to ``onnx/policy.onnx`` (+ ``text.onnx``, + a quantized graph); returns the parity report.

    ``overrides`` set fields of the bundle's ``export`` config (e.g. ``closed_loop_episodes=10``).
    ``closed_loop`` runs the quantized graph's closed-loop gate (``librobot.evaluation.closed_loop_comparison``;
    needed when ``export.closed_loop_episodes > 0`` and a graph is quantized). Raises ``ExportParityError`` (after deleting the failing file) when a graph misses its gate.
    """
    import torch

    job = _ExportJob(bundle_dir, cfg, closed_loop, quantize=quantize, int8_mode=int8_mode, **overrides)
    save_tokenizer(job.model, job.onnx_dir / TOKENIZER_DIR, instructions=job.tasks)
    fp32, text = job.onnx_dir / ONNX_FILES["onnx"], job.onnx_dir / TEXT_ONNX_FILE
    split = job.cfg.text_graph and job.model.splits_text()
    text.unlink(missing_ok=True)  # a text graph of an earlier export must never pair with this policy graph
    log.info(
        "exporting %s to %s%s (opset %d)",
        type(job.model).__name__,
        fp32,
        " + text.onnx" if split else "",
        job.cfg.opset,
    )
    with torch.no_grad():
        if split:
            export_text_graph(job.model, job.feeds, text, job.cfg.opset)
        export_graph(job.model, job.feeds, fp32, job.cfg.opset, from_text=split)
    report = job.new_report()
    try:
        report["text_graph"] = _text_graph_report(job.model, job.feeds, text) if split else None
    except ExportParityError:
        fp32.unlink(missing_ok=True)
        text.unlink(missing_ok=True)
        raise
    gate = _gate(
        "fp32",
        parity(job.reference, ort_outputs(fp32, job.feeds)),  # through the text graph when there is one
        job.cfg.parity_max_abs_err,
        job.cfg.parity_min_cosine,
    )
    report["fp32"] = {"file": fp32.name, **gate}
    if not gate["passed"]:
        fp32.unlink(missing_ok=True)
        text.unlink(missing_ok=True)
        job.record(report)
        raise ExportParityError(f"ONNX fp32 disagrees with torch beyond the gate: {_describe(gate)}")
    if job.cfg.quantize:
        job.quantize(report)
    return job.record(report)


def _text_graph_report(model: Any, feeds: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    """The text graph's own agreement with torch (valid tokens only; the gate is on the whole path's actions)."""
    want, want_mask = torch_text_features(model, feeds)
    got, got_mask = TextFeatures(path, threads=1)(feeds["input_ids"], feeds["attention_mask"])
    # the cache keeps each instruction's valid tokens, packed: pack torch's the same way
    ref, ref_mask = pad_rows([row[keep] for row, keep in zip(want, want_mask, strict=True)])
    if not np.array_equal(ref_mask, got_mask):
        raise ExportParityError(
            f"text graph masks disagree with torch: valid tokens per instruction {got_mask.sum(1).tolist()} "
            f"vs {ref_mask.sum(1).tolist()}"
        )
    return {"file": path.name, "tokens": int(want.shape[1]), **parity(ref, got)}


def quantize_policy(
    bundle_dir: str | Path,
    quantize: str,
    int8_mode: str | None = None,
    cfg: ExportConfig | None = None,
    closed_loop: ClosedLoopRunner | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Quantize the bundle's existing ``onnx/policy.onnx`` under the gates; merges into the export report."""
    if cfg is not None:
        cfg = dataclasses.replace(cfg, quantize=quantize, int8_mode=int8_mode or cfg.int8_mode)
    job = _ExportJob(bundle_dir, cfg, closed_loop, quantize=quantize, int8_mode=int8_mode, **overrides)
    if not (job.onnx_dir / ONNX_FILES["onnx"]).is_file():
        raise FileNotFoundError(f"{job.onnx_dir / ONNX_FILES['onnx']} does not exist: export fp32 first")
    report = dict(job.bundle.metadata.get("export") or job.new_report())
    job.quantize(report)
    return job.record(report)


def try_quantize(
    bundle_dir: str | Path, mode: str | None, closed_loop: ClosedLoopRunner | None = None, **overrides: Any
) -> dict[str, Any]:
    """Quantize the bundle's fp32 graph when ``mode`` is set; never raises because of the quantized graph.

    Quantization is an optional optimisation: the model the job produces is the fp32 policy. A
    quantized graph that misses a gate (element-wise or closed loop), or a quantizer that fails, is
    rejected: its file is removed, ``metadata.json["export"]["<mode>_rejected"]`` says why, and the
    bundle serves fp32 (runtime ``onnx``; ``librobot.serving.package`` packages what exists).
    Returns ``{"mode", "passed", "runtime", ["rejected"], ...gate metrics}``.
    """
    if not mode:
        return {"mode": None, "passed": True, "runtime": "onnx", "skipped": "no quantization configured"}
    QuantizeMode.parse(mode, "quantize mode (or empty)")
    try:
        report = quantize_policy(bundle_dir, quantize=mode, closed_loop=closed_loop, **overrides)  # the fp32 graph's
        entry = {"mode": mode, "passed": True, "runtime": f"onnx-{mode}", **report.get(mode, {})}
    except MissingClosedLoopRunner:
        raise  # the caller's mistake, not a property of the quantized graph
    except Exception as err:  # noqa: BLE001  (any failure of an optional optimisation falls back to fp32)
        reason = str(err) if isinstance(err, ExportParityError) else f"{type(err).__name__}: {err}"
        log.warning(
            "%s rejected, the bundle serves fp32: %s", mode, reason, exc_info=not isinstance(err, ExportParityError)
        )
        (Path(bundle_dir) / "onnx" / ONNX_FILES[f"onnx-{mode}"]).unlink(missing_ok=True)
        entry = {"mode": mode, "passed": False, "runtime": "onnx", "rejected": reason}
    export = dict(read_json(Path(bundle_dir), METADATA_FILE).get("export") or {})
    export.pop(f"{mode}_rejected", None)
    if not entry["passed"]:
        export[f"{mode}_rejected"] = entry["rejected"]
    update_metadata(bundle_dir, export=export)
    return json.loads(json.dumps(entry, default=str))


def quantization_notes(entry: dict[str, Any]) -> dict[str, str]:
    """What a promotion record says about quantization: the served runtime and why a graph was rejected."""
    notes = {"runtime": str(entry.get("runtime") or "onnx")}
    if entry.get("rejected"):
        notes[f"{entry['mode']}_rejected"] = str(entry["rejected"])
    return notes


# (bundle dir, quantized runtime, episodes per task, max success drop) -> {"passed", "success_fp32", ...}
ClosedLoopRunner = Callable[[Path, str, int, float], dict[str, Any]]


class MissingClosedLoopRunner(RuntimeError):
    """The config asks for the closed-loop gate and no runner was given."""


class _ExportJob:
    """What every export stage shares: the bundle, the config, recorded inputs and torch's outputs."""

    def __init__(
        self, bundle_dir: str | Path, cfg: ExportConfig | None, closed_loop: ClosedLoopRunner | None, **overrides: Any
    ) -> None:

        self.started = time.perf_counter()
        self.closed_loop = closed_loop
        self.bundle = load_bundle(bundle_dir)
        self.cfg = cfg or export_config(self.bundle.cfg, **overrides)
        self.model, self.normalizer = self.bundle.model, self.bundle.normalizer
        self.onnx_dir = self.bundle.onnx_dir
        self.onnx_dir.mkdir(exist_ok=True)
        self.obs = recorded_observations(self.bundle, self.cfg.parity_samples, seed=self.cfg.parity_seed)
        if len(self.obs) < 2:
            raise ValueError(f"parity needs at least 2 recorded observations; {self.obs.source} gave {len(self.obs)}")
        self.feeds = model_feeds(self.model, self.normalizer, self.obs, seed=self.cfg.parity_seed)
        self.tasks = sorted(set(self.obs.instructions) | set(self.bundle.metadata.get("tasks") or []))
        self.reference = torch_reference(self.model, self.feeds)

    def new_report(self) -> dict[str, Any]:
        return {
            "opset": self.cfg.opset,
            "observations": {"count": len(self.obs), "source": self.obs.source, "seed": self.cfg.parity_seed},
            "samples_noise": "noise" in self.feeds,
            "config": dataclasses.asdict(self.cfg),
        }

    def quantize(self, report: dict[str, Any]) -> None:
        cfg = self.cfg
        if cfg.quantize is None:
            raise ValueError("export.quantize is null: nothing to quantize")
        quantize: str = cfg.quantize
        fp32 = self.onnx_dir / ONNX_FILES["onnx"]
        target = self.onnx_dir / ONNX_FILES[f"onnx-{quantize}"]
        exclude = nodes_in_modules(fp32, list(cfg.quant_keep_float))
        if quantize == "int8":
            calibration = None
            if cfg.int8_mode == "static":
                calib_obs = recorded_observations(self.bundle, cfg.calibration_samples, seed=cfg.parity_seed + 1)
                feeds = model_feeds(self.model, self.normalizer, calib_obs, seed=cfg.parity_seed + 1)
                calibration = graph_feeds(fp32, graph_inputs(fp32), feeds)
            log.info("quantizing to int8 (%s, %d nodes kept float)", cfg.int8_mode, len(exclude))
            quantize_int8(fp32, target, cfg.int8_mode, calibration, exclude, list(cfg.quant_op_types))
        else:
            log.info("quantizing MatMul weights to int4 (block %d)", cfg.int4_block_size)
            quantize_int4(fp32, target, cfg.int4_block_size, exclude)
        entry: dict[str, Any] = {
            "file": target.name,
            "mode": cfg.int8_mode if quantize == "int8" else "weight_only_matmul_nbits",
            "kept_float_nodes": len(exclude),
        }
        metrics = parity(self.reference, ort_outputs(target, self.feeds))
        entry.update(
            _gate(quantize, metrics, cfg.quant_max_abs_err, cfg.quant_min_cosine, cfg.quant_min_cosine_overall)
        )
        entry["size_ratio"] = round(target.stat().st_size / fp32.stat().st_size, 4)
        report[quantize] = entry
        if entry["passed"] and cfg.closed_loop_episodes > 0:
            if self.closed_loop is None:
                raise MissingClosedLoopRunner(
                    f"export.closed_loop_episodes is {cfg.closed_loop_episodes}: pass closed_loop="
                    "librobot.evaluation.closed_loop_comparison (or set it to 0 to skip the rollouts)"
                )
            entry["closed_loop"] = self.closed_loop(
                self.bundle.path, f"onnx-{quantize}", cfg.closed_loop_episodes, cfg.quant_max_success_drop
            )
            entry["passed"] = entry["closed_loop"]["passed"]
        if not entry["passed"]:
            target.unlink(missing_ok=True)
            self.record(report)
            raise ExportParityError(f"{quantize} graph misses its gate: {_describe(entry)}")

    def record(self, report: dict[str, Any]) -> dict[str, Any]:
        report["seconds"] = round(time.perf_counter() - self.started, 2)
        update_metadata(self.bundle.path, export=json.loads(json.dumps(report, default=str)))
        return report


def _describe(entry: dict[str, Any]) -> str:
    if "closed_loop" in entry and not entry["closed_loop"]["passed"]:
        loop = entry["closed_loop"]
        return (
            f"closed-loop success {loop['success_quantized']:.2f} vs fp32 {loop['success_fp32']:.2f} "
            f"(drop {loop['drop']:.2f} > {loop['max_drop']:.2f})"
        )
    gate = entry["gate"]
    text = (
        f"max abs err {entry['max_abs_err']:.3g} (gate {gate['max_abs_err']:g}), "
        f"worst-sample cosine {entry['cosine_min_sample']:.6f} (gate {gate['min_cosine']:g}), "
        f"overall cosine {entry['cosine']:.6f} (gate {gate.get('min_cosine_overall', 0.0):g})"
    )
    return text if entry.get("finite", True) else f"non-finite outputs (NaN or inf); {text}"

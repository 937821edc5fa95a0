"""The Trainer: one loop for CPU, one GPU and multi-process DDP, on Hugging Face accelerate.

``accelerate launch --num_processes N train.py`` runs the same code distributed; nothing here
branches on the launcher. The model follows the framework contract: ``model(batch) -> {"loss"}``
on a normalized batch.

Resume is exact: a checkpoint holds model, optimizer, scheduler, callbacks (EMA, early stopping),
every process's RNG states and the data position, and the batch order is a pure function of
(seed, epoch) (see sampler.py), so N steps + resume to 2N equals 2N uninterrupted steps on CPU in
deterministic mode. With ``num_workers > 0`` the sample order stays exact, but random transforms
that run inside workers restart their streams at the resume point.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.utils.data import DataLoader, Dataset

from librobot.choices import MixedPrecision
from librobot.config import ExperimentConfig, to_yaml
from librobot.logging import get_logger
from librobot.progress import Progress
from librobot.seeding import rng_state, seed_everything, set_rng_state
from librobot.training.callbacks import EMA, Callback, EarlyStopping
from librobot.training.checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from librobot.training.config import TrainingConfig
from librobot.training.optim import build_optimizer, build_scheduler
from librobot.training.plots import loss_curve
from librobot.training.sampler import DataPosition, EpochBatches
from librobot.training.sharding import (
    full_model_state,
    full_optimizer_state,
    is_sharded,
    load_full_model_state,
    load_full_optimizer_state,
)
from librobot.training.tracking import MLflowTracker, NullTracker

log = get_logger("training")


@dataclass
class TrainResult:
    step: int
    metrics: dict[str, float]
    history: dict[str, list[float]] = field(default_factory=dict)
    checkpoint: Path | None = None
    mlflow_run_id: str | None = None


def training_config(cfg: TrainingConfig | DictConfig | dict) -> TrainingConfig:
    """The typed ``training`` section, whatever form it came in."""
    if isinstance(cfg, TrainingConfig):
        return cfg
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TrainingConfig), cfg))


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        train_dataset: Dataset,
        training: TrainingConfig | DictConfig | dict,
        output_dir: str | Path,
        *,
        seed: int = 0,
        deterministic: bool = False,
        val_dataset: Dataset | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        batch_transform: Callable[[Any], Any] | None = None,
        num_workers: int = 0,
        callbacks: Sequence[Callback] = (),
        run_config: ExperimentConfig | None = None,
        run_name: str = "train",
    ):
        self.cfg = training_config(training)
        MixedPrecision.parse(self.cfg.mixed_precision, "training.mixed_precision")
        if self.cfg.grad_accum_steps < 1:
            raise ValueError(f"training.grad_accum_steps must be >= 1, got {self.cfg.grad_accum_steps}")
        if self.cfg.prefetch_factor is not None and self.cfg.prefetch_factor < 1:
            raise ValueError(f"training.prefetch_factor must be >= 1 or null, got {self.cfg.prefetch_factor}")
        self.model = model
        self.train_dataset = train_dataset
        self.val_dataset = val_dataset
        self.output_dir = Path(output_dir)
        self.seed = seed
        self.deterministic = deterministic
        self.collate_fn = collate_fn
        self.batch_transform = batch_transform or (lambda b: b)
        self.num_workers = num_workers
        self.run_config = run_config
        self.run_name = run_name
        self.callbacks: list[Callback] = list(callbacks)
        if self.cfg.ema_decay is not None:
            self.callbacks.append(EMA(self.cfg.ema_decay))
        if self.cfg.early_stopping_patience is not None:
            self.callbacks.append(EarlyStopping(self.cfg.early_stopping_patience, self.cfg.early_stopping_min_delta))
        names = [c.name for c in self.callbacks]
        if len(set(names)) != len(names):
            raise ValueError(f"callback names must be unique (they key the checkpoint), got {names}")
        self.step = 0
        self.position = DataPosition()
        self.should_stop = False
        self.history: dict[str, list[float]] = {"step": [], "loss": [], "lr": [], "val_step": [], "val_loss": []}
        self.accelerator = None
        self.tracker = None

    # -- public ---------------------------------------------------------------------------------
    @property
    def ema(self) -> EMA | None:
        return next((c for c in self.callbacks if isinstance(c, EMA)), None)

    @property
    def unwrapped_model(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model) if self.accelerator is not None else self.model

    @property
    def is_main_process(self) -> bool:
        return self.accelerator is None or self.accelerator.is_main_process

    def fit(self, resume: bool = False) -> TrainResult:
        """Train to ``max_steps`` (or early stop); ``resume`` continues from the newest checkpoint."""
        self._setup()
        checkpoint = latest_checkpoint(self.output_dir) if resume else None
        if resume and checkpoint is None:
            log.warning("--resume: no checkpoint under %s; starting from step 0", self.output_dir / "checkpoints")
        if checkpoint is not None:
            self._restore(checkpoint)
        self._start_tracking()
        for cb in self.callbacks:
            cb.on_train_start(self)
        status = "FAILED"
        try:
            self._loop()
            if is_sharded(self.accelerator):  # a collective: every rank takes part, rank 0 keeps the tensors
                self._final_full_state = {k: v.clone() for k, v in full_model_state(self.model).items()}
            self._write_artifacts()
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            self.tracker.finish(status)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self._result()

    def final_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights a bundle should ship: the EMA average when EMA is on, else the live weights."""
        if self._final_full_state is not None:  # FSDP: gathered by every rank at the end of fit()
            return self._final_full_state
        model = self.unwrapped_model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if self.ema is not None:
            for k, v in self.ema.shadow.items():
                state[k] = v.detach().cpu().to(state[k].dtype).clone()
        return state

    _final_full_state: dict[str, torch.Tensor] | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState, GradientState

        if self.cfg.num_threads:
            torch.set_num_threads(int(self.cfg.num_threads))
        precision = self.cfg.mixed_precision
        cpu = self.cfg.cpu or not (torch.cuda.is_available() or _mps_available())
        if precision == "fp16" and cpu:
            log.warning("training.mixed_precision=fp16 needs a GPU; training in bf16 on CPU instead")
            precision = "bf16"
        # accelerate keeps its settings in process-wide singletons; one process may train several
        # runs with other settings (notebooks, pipelines, tests), so each Trainer starts them afresh
        # (the process group, if any, lives in torch.distributed and survives this)
        AcceleratorState._reset_state()
        GradientState._reset_state()
        # cpu=True also selects gloo DDP when a launcher started several processes on a CPU machine
        self.accelerator = Accelerator(
            cpu=cpu, mixed_precision=precision, gradient_accumulation_steps=self.cfg.grad_accum_steps
        )
        acc = self.accelerator
        _check_sharding(acc, self.cfg)
        _set_tf32(self.cfg.allow_tf32)
        seed_everything(self.seed, self.deterministic)
        optimizer = build_optimizer(self.model, self.cfg.optimizer, self.cfg.lr_multipliers)
        self.model, self.optimizer = acc.prepare(self.model, optimizer)
        if self.cfg.compile:  # after prepare: compiles the wrapped (DDP / FSDP) module's forward in place
            self.model.compile()
        # stepped by us once per optimizer step (accelerate's wrapper would step it N times under DDP)
        self.scheduler = build_scheduler(self.optimizer.optimizer, self.cfg.scheduler, self.cfg.max_steps)
        self.batches = EpochBatches(
            len(self.train_dataset), self.cfg.batch_size, self.seed, acc.process_index, acc.num_processes
        )
        # each process draws its own noise; model init above was identical on every process
        seed_everything(self.seed + 1_000_003 * acc.process_index, self.deterministic)

    def _start_tracking(self) -> None:
        if not (self.cfg.tracking and self.is_main_process):
            self.tracker = NullTracker()
            return
        self.tracker = MLflowTracker(
            self.output_dir, self.cfg.tracking_experiment, self.run_name, run_id=self._mlflow_run_id
        )
        if self._mlflow_run_id is None:  # a new run: log what defines it once
            params: dict[str, Any] = {"training": dataclasses.asdict(self.cfg)}
            if self.run_config is not None:
                params = dataclasses.asdict(self.run_config)
            params["num_processes"] = self.accelerator.num_processes
            self.tracker.log_params(params)
        self._mlflow_run_id = self.tracker.run_id

    _mlflow_run_id: str | None = None

    # -- the loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        acc = self.accelerator
        cfg = self.cfg
        samples_per_step = cfg.batch_size * cfg.grad_accum_steps
        batches = self._batches(self.position)
        window_loss, window_n, grad_norm = 0.0, 0, float("nan")
        window_start, window_steps = time.perf_counter(), 0
        bar = Progress(cfg.max_steps, "train", "step", enabled=cfg.progress and self.is_main_process, initial=self.step)
        self.model.train()
        while self.step < cfg.max_steps and not self.should_stop:
            window = [next(batches) for _ in range(cfg.grad_accum_steps)]
            self.position = window[-1][0]
            micro_batches = [batch for _, batch in window]
            for batch, weight in zip(micro_batches, accumulation_weights(micro_batches), strict=True):
                with acc.accumulate(self.model):
                    out = self.model(batch)
                    loss = out["loss"]
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"training loss is {loss.item()} at step {self.step}")
                    acc.backward(loss * weight)
                    if acc.sync_gradients and cfg.grad_clip_norm:
                        grad_norm = float(acc.clip_grad_norm_(self.model.parameters(), cfg.grad_clip_norm))
                    self.optimizer.step()
                    self.optimizer.zero_grad(set_to_none=True)
                window_loss += loss.detach().float().item()
                window_n += 1
            if not self.optimizer.step_was_skipped:  # fp16 overflow skips both, like accelerate does
                self.scheduler.step()
            for cb in self.callbacks:
                cb.on_optimizer_step(self)
            self.step += 1
            window_steps += 1
            bar.update(1)
            if self.step % max(1, cfg.log_every) == 0 or self.step == cfg.max_steps:
                elapsed = time.perf_counter() - window_start
                mean_loss = self._mean_over_processes(window_loss / max(1, window_n))
                metrics = {
                    "train/loss": mean_loss,
                    "train/lr": self.scheduler.get_last_lr()[0],
                    "train/samples_per_s": window_steps * samples_per_step / max(elapsed, 1e-9),
                    "train/epoch": self.position.epoch + self.position.batch / self.batches.batches_per_epoch,
                }
                if cfg.grad_clip_norm and math.isfinite(grad_norm):
                    metrics["train/grad_norm"] = grad_norm
                self.history["step"].append(self.step)
                self.history["loss"].append(mean_loss)
                self.history["lr"].append(metrics["train/lr"])
                self.tracker.log_metrics(metrics, self.step)
                bar.set_postfix(loss=f"{mean_loss:.4f}", samples_s=f"{metrics['train/samples_per_s']:.1f}")
                window_loss, window_n, window_start, window_steps = 0.0, 0, time.perf_counter(), 0
            if self.val_dataset is not None and cfg.val_every and self.step % cfg.val_every == 0:
                self.validate()
            done = self.step >= cfg.max_steps or self.should_stop
            if done or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                self.save_checkpoint()
            for cb in self.callbacks:
                cb.on_step_end(self)
        bar.close()
        if self.should_stop:
            log.info("early stopping at step %d (no val-loss improvement)", self.step)

    def _batches(self, start: DataPosition) -> Iterator[tuple[DataPosition, Any]]:
        """(position after the batch, device batch) from ``start`` on, epoch after epoch."""
        from accelerate.utils import send_to_device

        device, non_blocking = self.accelerator.device, self.cfg.non_blocking
        if self.cfg.persistent_workers and self.num_workers > 0:
            # one loader for the rest of the run: its workers live across epochs and prefetch over the boundary
            loader = self._loader(self._index_lists(start), start.epoch)
            for position, batch in zip(self.batches.positions(start), loader, strict=False):
                batch = send_to_device(batch, device, non_blocking=non_blocking)
                yield DataPosition(position.epoch, position.batch + 1), self.batch_transform(batch)
            return  # (the index lists never end: a run stops at max_steps)
        epoch, first = start.epoch, start.batch
        while True:
            loader = self._loader(self.batches.epoch(epoch, first), epoch)
            for i, batch in enumerate(loader):
                batch = send_to_device(batch, device, non_blocking=non_blocking)
                yield DataPosition(epoch, first + i + 1), self.batch_transform(batch)
            epoch, first = epoch + 1, 0

    def _index_lists(self, start: DataPosition) -> Iterator[list[int]]:
        """This process's index lists from ``start`` on, epoch after epoch."""
        epoch, first = start.epoch, start.batch
        while True:
            yield from self.batches.epoch(epoch, first)
            epoch, first = epoch + 1, 0

    def _loader(self, index_lists: Any, epoch: int) -> DataLoader:
        workers = self.num_workers > 0
        return DataLoader(
            self.train_dataset,
            batch_sampler=index_lists,
            collate_fn=self.collate_fn,
            num_workers=self.num_workers,
            # a generator of our own: DataLoader would otherwise draw a worker seed from the
            # global torch RNG at each new iterator, which a resume mid-epoch would not repeat
            generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch),
            pin_memory=self.cfg.pin_memory and self.accelerator.device.type == "cuda",
            prefetch_factor=self.cfg.prefetch_factor if workers else None,
            persistent_workers=False,  # the persistent mode keeps one loader instead (see _batches)
        )

    @torch.no_grad()
    def validate(self) -> float:
        """Mean loss over the validation split (EMA weights when EMA is on), with fixed noise."""
        from accelerate.utils import send_to_device

        acc = self.accelerator
        model = self.unwrapped_model
        n = len(self.val_dataset)
        local_bs = max(1, self.cfg.batch_size // acc.num_processes)
        starts = list(range(0, n, local_bs))
        if self.cfg.val_batches is not None:
            starts = starts[: self.cfg.val_batches]
        mine = starts[acc.process_index :: acc.num_processes]
        if is_sharded(acc):  # every forward is a collective under FSDP: all ranks run as many
            rounds = -(-len(starts) // acc.num_processes)
            mine = mine + [None] * (rounds - len(mine))
        total, count = 0.0, 0
        devices = [acc.device.index or 0] if acc.device.type == "cuda" else []
        was_training = model.training
        model.eval()
        # the same noise at every validation, and the training RNG streams left untouched
        with torch.random.fork_rng(devices=devices), self._eval_weights(model):
            torch.manual_seed(self.seed + 7)
            for s in mine:
                filler = s is None  # this rank has no batch left: repeat the first, count nothing
                items = [self.val_dataset[i] for i in range(s or 0, min((s or 0) + local_bs, n))]
                batch = self.collate_fn(items) if self.collate_fn else torch.utils.data.default_collate(items)
                batch = self.batch_transform(send_to_device(batch, acc.device))
                loss = model(batch)["loss"]
                total += 0.0 if filler else float(loss) * len(items)
                count += 0 if filler else len(items)
        model.train(was_training)
        sums = acc.reduce(torch.tensor([total, count], dtype=torch.float64, device=acc.device), reduction="sum")
        val_loss = float(sums[0] / sums[1]) if float(sums[1]) > 0 else float("nan")
        self.history["val_step"].append(self.step)
        self.history["val_loss"].append(val_loss)
        self.tracker.log_metrics({"val/loss": val_loss}, self.step)
        log.info("step %d: validation loss %.5f", self.step, val_loss)
        for cb in self.callbacks:
            cb.on_validation_end(self, val_loss)
        return val_loss

    def _eval_weights(self, model: nn.Module):
        import contextlib

        return self.ema.swapped_into(model) if self.ema is not None else contextlib.nullcontext(model)

    def _mean_over_processes(self, value: float) -> float:
        acc = self.accelerator
        if acc.num_processes == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=acc.device)
        return float(acc.reduce(t, reduction="mean")[0])

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self) -> Path | None:
        from accelerate.utils import gather_object

        acc = self.accelerator
        rngs = gather_object([rng_state()])  # every process's streams, in rank order
        model_state = self._trainable_state()  # under FSDP both gather shards: every rank calls them
        optimizer_state = full_optimizer_state(self.model, self.optimizer.optimizer) if is_sharded(acc) else None
        path = None
        if acc.is_main_process:
            path = save_checkpoint(
                self.output_dir,
                self.step,
                model_state=model_state,
                optimizer_state=optimizer_state if optimizer_state is not None else self.optimizer.state_dict(),
                scheduler_state=self.scheduler.state_dict(),
                callbacks_state={cb.name: cb.state_dict() for cb in self.callbacks},
                rng_states=rngs,
                trainer_state={
                    "step": self.step,
                    "epoch": self.position.epoch,
                    "batch": self.position.batch,
                    "num_processes": acc.num_processes,
                    "seed": self.seed,
                    "should_stop": self.should_stop,
                    "history": self.history,
                    "mlflow_run_id": self._mlflow_run_id,
                },
                keep=self.cfg.keep_checkpoints,
            )
        acc.wait_for_everyone()
        self.last_checkpoint = path
        return path

    last_checkpoint: Path | None = None

    def _frozen_names(self) -> set[str]:
        # FSDP's activation checkpointing wraps blocks; state dicts name their weights without the wrapper
        named = self.unwrapped_model.named_parameters()
        return {n.replace("_checkpoint_wrapped_module.", "") for n, p in named if not p.requires_grad}

    def _trainable_state(self) -> dict[str, torch.Tensor]:
        """Everything but frozen parameters: those are rebuilt from the pretrained files (~100 MB saved)."""
        frozen = self._frozen_names()
        sharded = is_sharded(self.accelerator)
        state = full_model_state(self.model) if sharded else self.unwrapped_model.state_dict()
        return {k: v for k, v in state.items() if k not in frozen}

    def _restore(self, path: Path) -> None:
        acc = self.accelerator
        state = load_checkpoint(path)
        trainer = state["trainer"]
        if trainer["seed"] != self.seed:
            raise ValueError(
                f"checkpoint {path} was trained with seed {trainer['seed']}; this run has seed {self.seed}"
            )
        sharded = is_sharded(acc)
        if sharded:  # full tensors from the file, scattered into this rank's shards
            result = load_full_model_state(self.model, state["model"])
        else:
            result = self.unwrapped_model.load_state_dict(state["model"], strict=False)
        missing = sorted(set(result.missing_keys) - self._frozen_names())
        if missing or result.unexpected_keys:
            raise ValueError(
                f"checkpoint {path} does not fit this model: missing {missing[:5]}, "
                f"unexpected {list(result.unexpected_keys)[:5]} (was the model config changed?)"
            )
        if sharded:
            load_full_optimizer_state(self.model, self.optimizer.optimizer, state["optimizer"])
        else:
            self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for cb in self.callbacks:
            if cb.name in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][cb.name])
        rngs = state["rng"]
        if len(rngs) != acc.num_processes:
            log.warning(
                "checkpoint was written by %d processes, resuming with %d: data order stays exact, noise streams do not",
                len(rngs),
                acc.num_processes,
            )
        set_rng_state(rngs[acc.process_index % len(rngs)])
        self.step = int(trainer["step"])
        self.position = DataPosition(int(trainer["epoch"]), int(trainer["batch"]))
        self.should_stop = bool(trainer.get("should_stop", False))
        self.history = {k: list(v) for k, v in trainer["history"].items()}
        self._mlflow_run_id = trainer.get("mlflow_run_id")
        self.last_checkpoint = path
        log.info("resumed from %s (step %d, epoch %d, batch %d)", path, self.step, *self.position.__dict__.values())

    def _write_artifacts(self) -> None:
        """The resolved config and the loss curve, beside the checkpoints and in MLflow."""
        if not self.is_main_process:
            return

        paths = [loss_curve(self.history, self.output_dir / "plots" / "loss_curve.png", title=self.run_name)]
        if self.run_config is not None:
            path = self.output_dir / "config.yaml"
            path.write_text(to_yaml(self.run_config))
            paths.append(path)
        for path in paths:
            self.tracker.log_artifact(path)

    def _result(self) -> TrainResult:
        h = self.history
        metrics: dict[str, float] = {"steps": float(self.step)}
        if h["loss"]:
            metrics["train_loss"] = h["loss"][-1]
        if h["val_loss"]:
            metrics["val_loss"] = h["val_loss"][-1]
            metrics["best_val_loss"] = min(h["val_loss"])
        metrics["stopped_early"] = float(bool(self.should_stop and self.step < self.cfg.max_steps))
        return TrainResult(
            step=self.step,
            metrics=metrics,
            history=self.history,
            checkpoint=self.last_checkpoint,
            mlflow_run_id=self._mlflow_run_id,
        )


def _check_sharding(acc: Any, cfg: TrainingConfig) -> None:
    import os

    from accelerate.utils import DistributedType

    if acc.distributed_type == DistributedType.DEEPSPEED:
        raise ValueError(
            "DeepSpeed (configs/accelerate/deepspeed_*.yaml) is not supported by the Trainer: ZeRO partitions "
            "the optimizer state, which its exact-resume checkpoints do not gather; use configs/accelerate/fsdp.yaml"
        )
    if is_sharded(acc) and cfg.ema_decay is not None:
        raise ValueError(
            "training.ema_decay: EMA keeps a copy of every weight and is not supported with FSDP (sharded "
            "weights); set training.ema_decay=null, or train with the ddp accelerate config"
        )
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" and not is_sharded(acc):
        log.warning("an FSDP accelerate config was given, but accelerate shards only on GPUs: training as DDP")


def _set_tf32(allow: bool | None) -> None:
    """TF32 float32 matmuls and convolutions on Ampere+ GPUs (10-bit mantissa); None keeps torch's defaults."""
    if allow is None or not torch.cuda.is_available():
        return
    precision = "tf32" if allow else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.conv.fp32_precision = precision


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def accumulation_weights(micro_batches: list[dict]) -> list[float]:
    """Each micro-batch's share of the window's real (unpadded) action steps, times the window length.

    The heads average their loss over a batch's real steps, and chunks near an episode's end are
    padded, so micro-batches hold different numbers of real steps: weighting each by its share makes
    the accumulated gradient that of one batch of them all (accelerate divides by the window length).
    """
    counts = [
        float((~batch["action_is_pad"]).sum()) if "action_is_pad" in batch else float(len(batch["actions"]))
        for batch in micro_batches
    ]
    total = sum(counts)
    if total == 0:
        return [1.0] * len(micro_batches)
    return [len(micro_batches) * count / total for count in counts]

"""``librobot train`` on N nodes as a Kubeflow Trainer v2 TrainJob (the ``torch-distributed`` runtime).

The TrainJob is built and submitted by the ``kubeflow`` SDK (``TrainerClient().train(trainer=
CustomTrainerContainer(image, num_nodes, resources_per_node), options=[...])``). The Trainer's torch
plugin starts one pod per node and sets ``PET_NNODES``, ``PET_NPROC_PER_NODE``, ``PET_NODE_RANK``,
``PET_MASTER_ADDR`` and ``PET_MASTER_PORT``, which ``torchrun`` reads as its own flags; every pod
therefore runs ``torchrun --module librobot.cli train ...`` and its processes join one process group,
the same way ``accelerate launch`` starts them on one machine (tests/training/test_torchrun_nodes.py).

Every node mounts one shared volume (a ReadWriteMany PVC) at ``mount_path``: the run writes its
checkpoints and, on rank 0, the policy bundle to ``<mount_path>/runs/<job name>``, so the bundle
outlives the pods and ``--resume`` continues a run whose pods were lost.

``--dry-run`` builds the TrainJob through the SDK's own Kubernetes backend with the API server left
out (``DryRunBackend``), so the printed YAML is what ``TrainerClient.train`` would send.

The KFP pipeline's train task with ``num_nodes > 1`` calls ``train_on_cluster``: it writes the
resolved experiment and the normalize task's stats beside the run on the shared volume (which that
task's pod mounts too), so the nodes train exactly that config with exactly those stats.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from librobot.bundle import WEIGHTS_FILE
from librobot.config import validate
from librobot.training.distributed import accelerate_config_path

if TYPE_CHECKING:
    from librobot.data.normalizer import Normalizer

DEFAULT_RUNTIME = "torch-distributed"
# the torch runtime's trainer: its replicated job and its container are both named "node"
TRAINER_NODE = "node"
SHARED_VOLUME = "librobot-shared"
DEFAULT_MOUNT = "/mnt/librobot"
_K8S_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_MAX_NAME = 40  # TrainJob names become JobSet, Job and Pod names with suffixes: keep them short


def new_job_name() -> str:
    return f"librobot-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class TrainJobSpec:
    """What to run and on what: one ``librobot train`` over ``num_nodes`` pods of ``image``."""

    image: str
    num_nodes: int = 2
    config: str = "experiment/default"
    overrides: tuple[str, ...] = ()
    name: str = field(default_factory=new_job_name)
    gpus_per_node: int = 0
    cpu_per_node: str | None = None  # Kubernetes quantities: "8", "500m"
    memory_per_node: str | None = None  # "64Gi"
    accelerate_config: str | None = None  # configs/accelerate/<name>.yaml: FSDP / DeepSpeed settings
    runtime: str = DEFAULT_RUNTIME
    pvc: str | None = SHARED_VOLUME  # None: no shared volume (then give --output on storage every node sees)
    mount_path: str = DEFAULT_MOUNT
    output: str | None = None  # default: <mount_path>/runs/<name>
    resume: bool = False
    normalizer: str | None = None  # stats JSON the nodes train with (default: computed from the data)
    experiment: str | None = None  # the experiment label's value (default: config)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError(
                "image: the container image every node runs is required (e.g. registry/librobot:train-cuda)"
            )
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {self.num_nodes}")
        if self.gpus_per_node < 0:
            raise ValueError(f"gpus_per_node must be >= 0, got {self.gpus_per_node}")
        if len(self.name) > _MAX_NAME or not _K8S_NAME.match(self.name):
            raise ValueError(
                f"name {self.name!r} must be a Kubernetes name: lowercase letters, digits and '-', "
                f"starting with a letter, at most {_MAX_NAME} characters"
            )
        if not self.mount_path.startswith("/"):
            raise ValueError(f"mount_path must be an absolute path, got {self.mount_path!r}")
        if self.output is not None and not self.output.startswith("/"):
            raise ValueError(f"output must be an absolute path inside the pods, got {self.output!r}")
        if self.pvc is None and self.output is None:
            raise ValueError("without a shared volume (pvc) give output: a directory every node can write")

    @property
    def bundle_dir(self) -> str:
        """Where rank 0 writes the policy bundle (checkpoints under ``<bundle_dir>/train``)."""
        return self.output or f"{self.mount_path}/runs/{self.name}"

    @property
    def procs_per_node(self) -> int:
        """Training processes on each node: one per GPU, else one."""
        return max(1, self.gpus_per_node)

    @property
    def resources_per_node(self) -> dict[str, Any] | None:
        resources: dict[str, Any] = {}
        if self.gpus_per_node:
            resources["gpu"] = str(self.gpus_per_node)  # a quantity string, as kubectl writes it
        if self.cpu_per_node:
            resources["cpu"] = self.cpu_per_node
        if self.memory_per_node:
            resources["memory"] = self.memory_per_node
        return resources or None


def train_args(spec: TrainJobSpec) -> list[str]:
    """``librobot train`` arguments: the same command line a local run takes."""
    args = ["train", "--config", spec.config, "--output", spec.bundle_dir]
    if spec.normalizer:
        args += ["--normalizer", spec.normalizer]
    if spec.resume:
        args.append("--resume")
    return [*args, *spec.overrides]


def node_command(spec: TrainJobSpec, data_path: str | None = None) -> list[str]:
    """The command of every node's container: ``bash -c "[pull the dataset &&] exec <launcher> train ..."``.

    ``torchrun`` takes the node count, node rank and rendezvous address from the runtime's ``PET_*``
    variables; with an accelerate config (FSDP, DeepSpeed) ``accelerate launch`` starts the node's
    processes from the same variables. A dataset the image only points at (``data.dvc``) is pulled first.
    """
    procs = spec.procs_per_node
    if spec.accelerate_config:
        launch = (
            f"accelerate launch --config_file {shlex.quote(accelerate_config_file(spec.accelerate_config))}"
            f" --num_machines {spec.num_nodes} --num_processes {spec.num_nodes * procs}"
            ' --machine_rank "$PET_NODE_RANK" --main_process_ip "$PET_MASTER_ADDR"'
            ' --main_process_port "$PET_MASTER_PORT" -m librobot.cli'
        )
    else:
        launch = f"torchrun --nproc-per-node {procs} --module librobot.cli"
    script = f"exec {launch} {shlex.join(train_args(spec))}"
    if data_path:
        pull = f"from librobot.validation.presence import ensure_dataset; ensure_dataset({json.dumps(data_path)})"
        script = f"python -c {shlex.quote(pull)} && {script}"
    return ["bash", "-c", script]


def accelerate_config_file(name: str) -> str:
    """``configs/accelerate/<name>.yaml`` relative to the image's working directory (checked here first)."""
    accelerate_config_path(name)  # an unknown name fails before submitting, not in the pods
    return f"configs/accelerate/{name}.yaml"


def trainer(spec: TrainJobSpec):
    """The SDK's trainer object: our image on ``num_nodes`` nodes with ``resources_per_node`` each."""
    from kubeflow.trainer import CustomTrainerContainer

    return CustomTrainerContainer(
        image=spec.image, num_nodes=spec.num_nodes, resources_per_node=spec.resources_per_node, env=spec.env or None
    )


def options(spec: TrainJobSpec, data_path: str | None = None) -> list[Any]:
    """Name, labels, the node command and the shared volume, as the SDK's TrainJob options."""
    from kubeflow.trainer.options import (
        ContainerPatch,
        JobSetSpecPatch,
        JobSetTemplatePatch,
        JobSpecPatch,
        JobTemplatePatch,
        Labels,
        Name,
        PodSpecPatch,
        PodTemplatePatch,
        ReplicatedJobPatch,
        RuntimePatch,
        TrainerCommand,
        TrainingRuntimeSpecPatch,
    )

    out: list[Any] = [
        Name(spec.name),
        Labels(
            {"app.kubernetes.io/part-of": "librobot", "librobot/experiment": _label(spec.experiment or spec.config)}
        ),
        TrainerCommand(node_command(spec, data_path)),
    ]
    if spec.pvc:
        pod = PodSpecPatch(
            volumes=[{"name": "shared", "persistentVolumeClaim": {"claimName": spec.pvc}}],
            containers=[
                ContainerPatch(name=TRAINER_NODE, volume_mounts=[{"name": "shared", "mountPath": spec.mount_path}])
            ],
        )
        job = ReplicatedJobPatch(
            name=TRAINER_NODE, template=JobTemplatePatch(spec=JobSpecPatch(template=PodTemplatePatch(spec=pod)))
        )
        out.append(
            RuntimePatch(
                training_runtime_spec=TrainingRuntimeSpecPatch(
                    template=JobSetTemplatePatch(spec=JobSetSpecPatch(replicated_jobs=[job]))
                )
            )
        )
    return out


def _label(value: str) -> str:
    """A Kubernetes label value (63 characters of [-_.a-zA-Z0-9], alphanumeric at both ends)."""
    cleaned = re.sub(r"[^-_.a-zA-Z0-9]+", "-", value)[:63].strip("-_.")
    return cleaned or "unnamed"


def submit(client: Any, spec: TrainJobSpec, data_path: str | None = None) -> str:
    """Create the TrainJob with ``client`` (a ``TrainerClient`` or an SDK backend); returns its name."""
    return client.train(runtime=spec.runtime, trainer=trainer(spec), options=options(spec, data_path))


def dataset_to_pull(cfg: Any) -> str | None:
    """The dataset path when it is relative: inside the image, restored by ``dvc pull`` on each node."""
    path = str(cfg.data.path)
    return None if path.startswith("/") else path


def _dry_run_backend_class():
    from kubeflow.trainer.backends.kubernetes.backend import KubernetesBackend
    from kubeflow.trainer.types import types

    class DryRunBackend(KubernetesBackend):
        """The SDK's Kubernetes backend without a cluster: ``train`` keeps the TrainJob it would create.

        The runtime the cluster would return is stood in by a torch runtime with the job's image,
        which is all the SDK reads from it for a ``CustomTrainerContainer``.
        """

        def __init__(self, namespace: str = "default", image: str = ""):  # no kube-config, no API server
            self.namespace = namespace
            self.image = image
            self.created: list[dict[str, Any]] = []
            self.custom_api = self  # create_namespaced_custom_object lands below

        def get_runtime(self, name: str) -> types.Runtime:
            trainer = types.RuntimeTrainer(
                trainer_type=types.TrainerType.CUSTOM_TRAINER, framework="torch", image=self.image
            )
            return types.Runtime(name=name, trainer=trainer, kind=types.RuntimeKind.CLUSTER_TRAINING_RUNTIME)

        def create_namespaced_custom_object(self, group, version, namespace, plural, body):
            self.created.append(body)
            return body

    return DryRunBackend


def render(spec: TrainJobSpec, data_path: str | None = None, namespace: str = "default") -> dict[str, Any]:
    """The TrainJob object (a dict, as sent to the API server) that ``submit`` would create."""
    backend = _dry_run_backend_class()(namespace=namespace, image=spec.image)
    submit(backend, spec, data_path)
    return backend.created[-1]


def follow(
    client: Any,
    name: str,
    timeout_s: int = 24 * 3600,
    start_timeout_s: int = 1800,
    echo: Callable[[str], None] = print,
) -> Any:
    """Wait for the TrainJob to start, stream node 0's log (rank 0), and wait for it to complete.

    Raises ``RuntimeError`` when the TrainJob fails (the SDK's message names it).
    """
    from kubeflow.trainer.constants import constants

    started = {constants.TRAINJOB_RUNNING, constants.TRAINJOB_COMPLETE}
    client.wait_for_job_status(name, status=started, timeout=start_timeout_s, polling_interval=5)
    _echo_lines(client.get_job_logs(name, step=f"{TRAINER_NODE}-0", follow=True), echo)
    return client.wait_for_job_status(name, status={constants.TRAINJOB_COMPLETE}, timeout=timeout_s, polling_interval=5)


def _echo_lines(lines: Iterable[str], echo: Callable[[str], None]) -> None:
    for line in lines:
        echo(line.rstrip("\n"))


def prepare_cluster_run(
    config_yaml: str,
    normalizer: Normalizer,
    image: str,
    num_nodes: int,
    gpus_per_node: int = 0,
    pvc: str = SHARED_VOLUME,
    mount_path: str = DEFAULT_MOUNT,
    num_processes: int = 1,
) -> tuple[TrainJobSpec, str | None]:
    """The TrainJob that trains exactly ``config_yaml`` (a resolved experiment) with ``normalizer``.

    Both are written beside the run's bundle directory on the shared volume, as
    ``<mount_path>/runs/<job name>.config.yaml`` and ``.normalizer.json``, for the nodes'
    ``librobot train --config ... --normalizer ...``. Returns the spec and the dataset each node
    restores first (None when it lies on the shared volume).
    """
    if not pvc:
        raise ValueError(
            "shared_pvc: training on several nodes needs a ReadWriteMany PVC that every node and the train task mount"
        )
    cfg = validate(OmegaConf.create(config_yaml))  # a bad config fails here, not in the pods
    name = new_job_name()
    inputs = f"{mount_path}/runs/{name}"
    spec = TrainJobSpec(
        image=image, num_nodes=num_nodes, config=f"{inputs}.config.yaml", name=name, gpus_per_node=gpus_per_node,
        pvc=pvc, mount_path=mount_path, normalizer=f"{inputs}.normalizer.json", experiment=str(cfg.name),
    )  # fmt: skip
    if num_processes > 1:
        raise ValueError(
            f"num_processes={num_processes} starts processes inside the train task's pod; with num_nodes={num_nodes} "
            "give gpus_per_node instead (each node runs one process per GPU)"
        )
    Path(inputs).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{inputs}.config.yaml").write_text(config_yaml)
    normalizer.save(f"{inputs}.normalizer.json")
    return spec, _dataset_on_nodes(str(cfg.data.path), mount_path)


def _dataset_on_nodes(path: str, mount_path: str) -> str | None:
    """A dataset on the shared volume is read there; any other is restored on each node (``ensure_dataset``).

    The pipeline's data path is where ``load_dataset`` put it inside the image (``/app/data/default``),
    which the nodes' fresh containers only hold as a DVC pointer.
    """
    return None if Path(path).is_relative_to(mount_path) else path


def train_on_cluster(
    config_yaml: str,
    normalizer: Normalizer,
    image: str,
    num_nodes: int,
    gpus_per_node: int = 0,
    pvc: str = SHARED_VOLUME,
    mount_path: str = DEFAULT_MOUNT,
    num_processes: int = 1,
    timeout_s: int = 24 * 3600,
    client: Any = None,
) -> Path:
    """Train as a TrainJob on ``num_nodes`` nodes; returns the bundle directory on the shared volume.

    Submits with ``client`` (default: a ``TrainerClient`` with this pod's service account and
    namespace), streams node 0's log and waits for ``Complete``. A failed TrainJob raises; one that
    runs past ``timeout_s`` is deleted (freeing its nodes) and raises.
    """
    spec, data = prepare_cluster_run(
        config_yaml, normalizer, image, num_nodes, gpus_per_node, pvc, mount_path, num_processes
    )
    if client is None:
        from kubeflow.trainer import TrainerClient

        client = TrainerClient()
    name = submit(client, spec, data)
    print(f"TrainJob {name}: {num_nodes} nodes of {image}; bundle -> PVC {pvc}, {spec.bundle_dir}", flush=True)
    try:
        follow(client, name, timeout_s=timeout_s, echo=lambda line: print(line, flush=True))
    except TimeoutError as err:
        client.delete_job(name)
        raise RuntimeError(f"TrainJob {name} timed out and was deleted (freeing its nodes): {err}") from err
    except RuntimeError as err:
        raise RuntimeError(
            f"TrainJob {name} on {num_nodes} nodes failed: {err} (kubectl describe trainjob {name}; "
            f"kubectl logs -l jobset.sigs.k8s.io/jobset-name={name})"
        ) from err
    bundle = Path(spec.bundle_dir)
    if not (bundle / WEIGHTS_FILE).is_file():
        raise RuntimeError(f"TrainJob {name} completed but wrote no policy bundle at {bundle} (no {WEIGHTS_FILE})")
    return bundle

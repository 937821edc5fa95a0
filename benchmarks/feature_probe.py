"""Do the frozen image features say where things are? A linear probe on a recorded dataset.

For each EfficientNet-Lite0 layer the small pretrained VLM can read (``head``: the pooled 3x3 map at
96 px, ``stride16``: 6x6 cells, ``stride8``: 12x12), ridge regression from the features of every
camera to state values the policy does *not* get (e.g. MetaWorld's goal and object positions, kept in
the dataset's full state), 5-fold cross-validated by episode. The error in the state's units (metres
for MetaWorld, printed in cm) says how much of an object's position a policy head could read
from those features, before any policy is trained. Prints a table and writes JSON.

    python benchmarks/feature_probe.py --dataset data/default_wrist   # -> benchmarks/results/feature_probe_default_wrist.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from librobot.data.lerobot_v3 import LeRobotV3Reader
from librobot.machine import machine_info, machine_line
from librobot.models.vlm.small_pretrained import IMAGE_LAYERS
from librobot.registry import build

TARGETS = "goal_x,goal_y,goal_z,obj1_x,obj1_y,obj1_z"
LAMBDAS = (1e1, 1e2, 1e3, 1e4, 1e5, 1e6)  # up to ridge that leaves only the mean
FOLDS = 5


def layer_features(reader: LeRobotV3Reader, layer: str, image_size: int) -> np.ndarray:
    """[frames, cameras * cells * channels]: every cell of ``layer``'s map for every camera (no pooling)."""
    stride = IMAGE_LAYERS[layer][2]
    vlm = build(
        "vlm",
        {
            "name": "small_pretrained",
            "image_size": image_size,
            "image_layer": layer,
            "image_grid": -(-image_size // stride),
        },
    ).eval()
    per_episode = []
    with torch.no_grad():
        for episode in range(reader.num_episodes):
            cams = []
            for cam in reader.camera_keys:
                frames = torch.from_numpy(reader.decode_episode(episode, cam)).permute(0, 3, 1, 2)  # uint8 NCHW
                cams.append(vlm._image_features(frames).flatten(1).numpy())
            per_episode.append(np.concatenate(cams, 1))
    return np.concatenate(per_episode)


def ridge_predictions(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, lambdas: tuple[float, ...]
) -> list[np.ndarray]:
    """Ridge on standardized features for each strength, in the kernel form (more features than frames)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    y_mean = y_train.mean(0)
    gram, cross = a @ a.T, b @ a.T
    eye = np.eye(len(a))
    return [cross @ np.linalg.solve(gram + lam * eye, y_train - y_mean) + y_mean for lam in lambdas]


def probe(x: np.ndarray, y: np.ndarray, episodes: np.ndarray) -> tuple[float, np.ndarray]:
    """The ridge strength with the lowest cross-validated RMSE, and that RMSE per target."""
    fold = episodes % FOLDS
    preds = [np.empty_like(y) for _ in LAMBDAS]
    for k in range(FOLDS):
        for pred, fold_pred in zip(
            preds, ridge_predictions(x[fold != k], y[fold != k], x[fold == k], LAMBDAS), strict=True
        ):
            pred[fold == k] = fold_pred
    rmse = [np.sqrt(((pred - y) ** 2).mean(0)) for pred in preds]
    best = int(np.argmin([r.mean() for r in rmse]))
    return LAMBDAS[best], rmse[best]


def rmse_of_mean(y: np.ndarray) -> np.ndarray:
    """Per column, the error of always predicting the column's mean (its standard deviation)."""
    return np.sqrt(((y - y.mean(0)) ** 2).mean(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="data/default_wrist")
    parser.add_argument("--targets", default=TARGETS, help="comma-separated state names to predict")
    parser.add_argument("--layers", default="head,stride16,stride8")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument(
        "--out", default=None, help="JSON path; default benchmarks/results/feature_probe_<dataset>.json"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    reader = LeRobotV3Reader(args.dataset)
    names = reader.feature_names("observation.state")
    targets = args.targets.split(",")
    missing = [t for t in targets if t not in names]
    if missing:
        raise SystemExit(f"--targets: {missing} are not in {args.dataset}'s observation.state ({names})")
    state = np.asarray(reader.columns["observation.state"]).reshape(reader.num_frames, -1)
    y = state[:, [names.index(t) for t in targets]].astype(np.float64)
    lengths = [sl.stop - sl.start for sl in map(reader.episode_slice, range(reader.num_episodes))]
    episodes = np.repeat(np.arange(reader.num_episodes), lengths)
    tasks = np.asarray(reader.columns["task_index"]).reshape(-1)
    print(machine_line())
    per_task_baseline = {reader.task_of(int(t)): rmse_of_mean(y[tasks == t]).tolist() for t in np.unique(tasks)}
    rows = [{"features": "none (the mean)", "dim": 0, "rmse": rmse_of_mean(y).tolist(), "per_task": per_task_baseline}]
    for layer in args.layers.split(","):
        started = time.perf_counter()
        x = layer_features(reader, layer, args.image_size)
        lam, rmse = probe(x, y, episodes)
        per_task = {
            reader.task_of(int(t)): probe(x[tasks == t], y[tasks == t], episodes[tasks == t])[1].tolist()
            for t in np.unique(tasks)
        }
        rows.append({"features": layer, "dim": x.shape[1], "ridge": lam, "rmse": rmse.tolist(), "per_task": per_task})
        print(f"{layer}: {x.shape[1]} features, {time.perf_counter() - started:.0f} s")
    print(f"\n{args.dataset}, {reader.num_frames} frames, cameras {reader.camera_keys}, {FOLDS}-fold by episode")
    print(f"{'features':18s}{'dim':>8s}  RMSE x100 ({', '.join(targets)})")
    for row in rows:
        print(f"{row['features']:18s}{row['dim']:8d}  " + " ".join(f"{100 * v:5.1f}" for v in row["rmse"]))
        for task, rmse in row.get("per_task", {}).items():
            print(f"{'':26s}{task}: " + " ".join(f"{100 * v:5.1f}" for v in rmse))
    out = Path(args.out or f"benchmarks/results/feature_probe_{Path(args.dataset).name}.json")
    meta = {"dataset": args.dataset, "targets": targets, "image_size": args.image_size, "machine": machine_info()}
    out.write_text(json.dumps({**meta, "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

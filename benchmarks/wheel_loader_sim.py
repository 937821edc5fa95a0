"""Speed of the simulated wheel loader: ms per control step and expert episodes recorded per minute.

    .venv/bin/python benchmarks/wheel_loader_sim.py [--episodes 10] [--steps 300]

Writes benchmarks/results/wheel_loader_sim.json and prints it. "Recorded" means the expert's
episodes rolled out with both 96 px cameras and every frame, state, action and phase kept in memory
(what a recorder needs before encoding; video encoding is not counted here).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from librobot.machine import machine_info

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "wheel_loader_sim.json"


def ms_per_step(env, steps: int, seed: int = 0) -> tuple[float, float]:
    """Mean (wall, process CPU) ms per control step while the expert drives.

    CPU time is reported too because the 2 cores here are shared: wall time swings with the load,
    CPU time (which counts the software renderer's threads, which run in this process) does not.
    """
    obs = env.reset(seed=seed)
    expert = env.expert()
    wall, cpu, done = 0.0, 0.0, 0
    while done < steps:
        action = expert(obs)
        t0, c0 = time.perf_counter(), time.process_time()
        obs, _, terminated, truncated, _ = env.step(action)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        done += 1
        if terminated or truncated:
            seed += 1
            obs = env.reset(seed=seed)
    return 1000.0 * wall / steps, 1000.0 * cpu / steps


def record_episodes(env, episodes: int, first_seed: int = 100) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    successes, frames, nbytes = 0, 0, 0
    for seed in range(first_seed, first_seed + episodes):
        obs = env.reset(seed=seed)
        expert = env.expert()
        kept = []
        while True:
            action = expert(obs)
            kept.append((obs["images"], obs["state"], action, expert.phase))
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        successes += info["success"]
        frames += len(kept)
        nbytes += sum(sum(im.nbytes for im in k[0].values()) for k in kept)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return {
        "episodes": episodes,
        "seconds": round(seconds, 2),
        "episodes_per_minute": round(60.0 * episodes / seconds, 1),
        "episodes_per_cpu_minute": round(60.0 * episodes / cpu_seconds, 1),
        "frames": frames,
        "mean_episode_steps": round(frames / episodes, 1),
        "expert_success_rate": successes / episodes,
        "raw_image_mb": round(nbytes / 1e6, 1),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10, help="expert episodes to record")
    parser.add_argument("--steps", type=int, default=300, help="control steps per timing")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from librobot.sim.wheel_loader import WheelLoaderEnv

    physics = WheelLoaderEnv(render=False)
    cameras = WheelLoaderEnv(image_size=96)
    ms_physics, cpu_physics = ms_per_step(physics, args.steps)
    ms_cameras, cpu_cameras = ms_per_step(cameras, args.steps)
    recorded = record_episodes(cameras, args.episodes)
    physics_only_rate = record_episodes(physics, args.episodes)
    cameras.close()
    result = {
        "env": "wheel_loader",
        "control_hz": 10,
        "physics_dt_s": float(physics.model.opt.timestep),
        "ms_per_step_physics_only": round(ms_physics, 3),
        "ms_per_step_two_96px_cameras": round(ms_cameras, 3),
        "cpu_ms_per_step_physics_only": round(cpu_physics, 3),
        "cpu_ms_per_step_two_96px_cameras": round(cpu_cameras, 3),
        "recorded_with_two_96px_cameras": recorded,
        "expert_episodes_per_minute_physics_only": physics_only_rate["episodes_per_minute"],
        "expert_episodes_per_cpu_minute_physics_only": physics_only_rate["episodes_per_cpu_minute"],
        "machine": {
            **machine_info(),
            "mujoco": __import__("mujoco").__version__,
            "renderer": f"MUJOCO_GL={os.environ.get('MUJOCO_GL')}",
        },
        "numpy": np.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

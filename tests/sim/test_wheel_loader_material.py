"""The gravel: filling only inside the pile, delivery only over the truck, spill elsewhere."""

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

from librobot.sim.wheel_loader import WheelLoaderEnv  # noqa: E402
from librobot.sim.wheel_loader.material import CAPACITY, DENSITY, PENETRATION_SHARE, BedGeometry, Material  # noqa: E402

BED = BedGeometry(x=5.0, y=10.0, yaw=0.0, half_length=2.5, half_width=1.25, rim=1.8)
EAST = np.array([1.0, 0.0])


def pile() -> Material:
    return Material(pile_x=12.0, pile_y=0.0, pile_radius=2.5, pile_height=1.4, bed=BED)


def push(mat: Material, x0: float, x1: float, z: float = 0.15, tilt: float = 0.0, curl: float = 0.0) -> None:
    mat.update(np.array([x0, 0.0, z]), np.array([x1, 0.0, z]), EAST, tilt, curl, 0.1)


def test_no_fill_outside_the_pile():
    mat = pile()
    for x in np.arange(0.0, 9.2, 0.3):  # up to 9.3 m, short of the pile edge at 9.5 m
        push(mat, x, x + 0.3, curl=0.05)
    assert mat.fill == 0.0 and mat.pile_height == 1.4


def test_no_fill_above_the_pile_surface():
    mat = pile()
    push(mat, 11.8, 12.1, z=1.5, curl=0.1)  # lip above the 1.4 m crest
    assert mat.fill == 0.0


def test_pushing_into_the_pile_fills_part_of_the_bucket_and_lowers_the_pile():
    mat = pile()
    for x in np.arange(9.5, 11.5, 0.2):
        push(mat, x, x + 0.2)
    assert mat.fill == pytest.approx(PENETRATION_SHARE * CAPACITY)
    assert mat.pile_height < 1.4
    assert mat.payload_kg == pytest.approx(mat.fill * DENSITY)


def test_curling_in_the_pile_completes_the_fill():
    mat = pile()
    for x in np.arange(9.5, 11.5, 0.2):
        push(mat, x, x + 0.2)
    for _ in range(10):
        push(mat, 11.5, 11.5, tilt=0.2, curl=0.06)
    assert mat.fill == pytest.approx(CAPACITY)


def test_tilted_bucket_does_not_penetrate():
    mat = pile()
    push(mat, 10.5, 10.8, tilt=-0.6)  # dumping angle: nothing enters
    assert mat.fill == 0.0


def full_bucket() -> Material:
    mat = pile()
    mat.fill = CAPACITY
    return mat


def dump_at(mat: Material, x: float, y: float, z: float, steps: int = 80) -> None:
    for _ in range(steps):
        mat.update(np.array([x, y, z]), np.array([x, y, z]), EAST, -1.0, -0.05, 0.1)


def test_dumping_over_the_bed_above_the_rim_delivers():
    mat = full_bucket()
    dump_at(mat, 5.5, 9.5, 3.0)
    assert mat.delivered == pytest.approx(CAPACITY) and mat.spilled == 0.0 and mat.fill == 0.0


@pytest.mark.parametrize(
    "where",
    [(5.5, 6.0, 3.0), (8.0, 10.0, 3.0), (5.5, 9.5, 1.5)],
    ids=["beside the truck", "past its end", "below the rim"],
)
def test_dumping_anywhere_else_spills(where):
    mat = full_bucket()
    dump_at(mat, *where)
    assert mat.delivered == 0.0 and mat.spilled == pytest.approx(CAPACITY)


def test_rotated_truck_bed_is_respected():
    bed = BedGeometry(x=0.0, y=0.0, yaw=np.pi / 2, half_length=2.5, half_width=1.25, rim=1.8)
    assert bed.contains(0.0, 2.0, 2.0) and not bed.contains(2.0, 0.0, 2.0)


def test_level_bucket_keeps_its_load():
    mat = full_bucket()
    dump_at(mat, 0.0, 0.0, 3.0, steps=0)
    for _ in range(30):
        mat.update(np.zeros(3), np.zeros(3), EAST, 0.3, 0.0, 0.1)
    assert mat.fill == CAPACITY


@pytest.fixture(scope="module")
def env():
    return WheelLoaderEnv(render=False)


def test_in_the_env_payload_grows_only_with_the_lip_in_the_pile_and_delivery_only_over_the_bed(env):
    obs = env.reset(seed=11)
    expert = env.expert()
    payload, delivered = 0.0, 0.0
    grew, poured = 0, 0
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert(obs))
        lip, mat = env.lip_position, env.material
        if info["payload_kg"] > payload + 1e-9:
            grew += 1
            assert mat.surface(lip[0], lip[1]) > lip[2], "the bucket filled with its lip outside the pile"
        if info["delivered_kg"] > delivered + 1e-9:
            poured += 1
            assert mat.bed.contains(*lip), "material was delivered with the lip off the truck bed"
        payload, delivered = info["payload_kg"], info["delivered_kg"]
        if terminated or truncated:
            break
    assert grew > 0 and poured > 0 and info["success"] and info["spilled_kg"] == 0.0


def test_in_the_env_dumping_short_of_the_truck_spills(env):
    obs = env.reset(seed=11)
    expert = env.expert()
    while expert.phase != "to_truck":  # loaded, turned towards the truck, still metres short of it
        obs, *_ = env.step(expert(obs))
    assert env.material.surface(*env.lip_position[:2]) == 0.0
    loaded = env.material.payload_kg
    assert loaded > 2400
    for _ in range(80):  # dump where it stands, between pile and truck
        obs, _, _, _, info = env.step(np.array([0.0, 0.0, 0.0, -1.0, 1.0, 0.0]))
    assert info["delivered_kg"] == 0.0
    assert info["spilled_kg"] == pytest.approx(loaded, rel=1e-6) and info["payload_kg"] < 1.0

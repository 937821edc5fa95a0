"""The wheel loader's MJCF: geometry, masses, actuators, truck, pile and cameras in one XML string.

The model is compiled once per environment; everything a seed changes (pile and truck pose, pile
height, payload mass, brake and drive limits) is a model field that ``env.py`` restores on reset.
"""

from __future__ import annotations

import math

# -- machine geometry (m), shared with the expert's kinematics ---------------------------------
WHEEL_RADIUS = 0.70
WHEEL_HALF_WIDTH = 0.25
TRACK_HALF = 1.0
AXLE_OFFSET = 1.5  # axles +-1.5 m from the articulation hinge
HINGE_HEIGHT = WHEEL_RADIUS  # rear-frame origin = hinge, at wheel-centre height
BOOM_PIVOT = (1.2, 1.3)  # (x ahead of the hinge, z above the hinge) in the front frame
BOOM_LENGTH = 2.8
LIP = (1.0, -0.6)  # bucket lip in the bucket frame (x forward, z up) at zero bucket angle
BUCKET_HALF_WIDTH = 1.2

# -- masses (kg) -----------------------------------------------------------------------------------
REAR_MASS = 6500.0
FRONT_MASS = 2500.0
BOOM_MASS = 1200.0
BUCKET_MASS = 1000.0
WHEEL_MASS = 225.0  # 4 wheels; 12.1 t in all

# -- joint ranges (rad), equal to the robot spec's state bounds --------------------------------
ARTIC_RANGE = (-0.70, 0.70)
BOOM_RANGE = (-0.52, 0.87)
BUCKET_RANGE = (-1.70, 1.30)

# -- hydraulics: action +-1 maps to these rates (rad/s) ---------------------------------------------
STEER_RATE = 0.40
BOOM_RATE = 0.30
BUCKET_RATE = 0.60

# -- driveline ---------------------------------------------------------------------------------------
DRIVE_RATIO = 48.4  # engine speed / wheel speed
WHEEL_TORQUE_MAX = 9260.0  # N*m per wheel
DRIVE_GAIN = 20000.0  # N*m per rad/s of wheel-speed error (a stiff torque converter)
BRAKE_TORQUE = 25000.0  # N*m per wheel at full brake (dry friction)

# -- truck: bed 5.0 x 2.5 m, rim 1.8 m above ground -------------------------------------------------
TRUCK_BED_HALF = (2.5, 1.25)
TRUCK_RIM = 1.8
TRUCK_BED_FLOOR = 1.3

WHEELS = ("wheel_rl", "wheel_rr", "wheel_fl", "wheel_fr")

# collision bits: machine geoms hit the ground and the truck, never each other
_MACHINE = 'contype="0" conaffinity="1"'
_WORLD = 'contype="1" conaffinity="0"'
_VISUAL = 'contype="0" conaffinity="0" mass="0"'


def _wheel(name: str, x: float, y: float) -> str:
    inertia_axle = 0.5 * WHEEL_MASS * WHEEL_RADIUS**2
    inertia_other = WHEEL_MASS * (3 * WHEEL_RADIUS**2 + (2 * WHEEL_HALF_WIDTH) ** 2) / 12
    return f"""
      <body name="{name}" pos="{x} {y} 0">
        <joint name="{name}" type="hinge" axis="0 1 0"/>
        <inertial pos="0 0 0" mass="{WHEEL_MASS}" diaginertia="{inertia_other} {inertia_axle} {inertia_other}"/>
        <geom type="cylinder" size="{WHEEL_RADIUS} {WHEEL_HALF_WIDTH}" zaxis="0 1 0" friction="1.0 0.005 0.0001"
              rgba="0.12 0.12 0.12 1" {_MACHINE}/>
        <geom type="box" size="0.3 {WHEEL_HALF_WIDTH + 0.01} 0.08" rgba="0.5 0.5 0.5 1" {_VISUAL}/>
      </body>"""


def _hydraulic(
    name: str, joint: str, rate: float, joint_range: tuple[float, float], kp: float, kv: float, force: float
) -> str:
    # ctrl is a rate; the integrator state (act) is the commanded angle; a capped stiff PD holds it
    return (
        f'<general name="{name}" joint="{joint}" dyntype="integrator" gaintype="fixed" gainprm="{kp}" '
        f'biastype="affine" biasprm="0 {-kp} {-kv}" ctrlrange="{-rate} {rate}" actlimited="true" '
        f'actrange="{joint_range[0]} {joint_range[1]}" forcelimited="true" forcerange="{-force} {force}"/>'
    )


def build_xml(image_size: int = 96) -> str:
    """The MJCF text; ``image_size`` sizes the offscreen buffer the cameras render into."""
    tilt = math.radians(25.0)
    cab_axes = f"0 -1 0 {math.sin(tilt):.6f} 0 {math.cos(tilt):.6f}"
    bhw = BUCKET_HALF_WIDTH
    lip_x, lip_z = LIP
    buf = max(int(image_size), 64)
    wheels_rear = _wheel("wheel_rl", -AXLE_OFFSET, TRACK_HALF) + _wheel("wheel_rr", -AXLE_OFFSET, -TRACK_HALF)
    wheels_front = _wheel("wheel_fl", AXLE_OFFSET, TRACK_HALF) + _wheel("wheel_fr", AXLE_OFFSET, -TRACK_HALF)
    drives = "\n    ".join(
        f'<general name="drive_{w[6:]}" joint="{w}" gaintype="fixed" gainprm="{DRIVE_GAIN}" biastype="affine" '
        f'biasprm="0 0 {-DRIVE_GAIN}" ctrlrange="-20 20" forcelimited="true" '
        f'forcerange="{-WHEEL_TORQUE_MAX} {WHEEL_TORQUE_MAX}"/>'
        for w in WHEELS
    )
    bx, bz = BOOM_PIVOT
    return f"""<mujoco model="wheel_loader">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.01" integrator="implicitfast"/>
  <visual>
    <quality offsamples="0" numslices="12" numstacks="6" shadowsize="0"/>
    <global offwidth="{buf}" offheight="{buf}"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
  </visual>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.55 0.75 0.95" rgb2="0.85 0.92 1.0" width="32"
             height="32"/>
  </asset>
  <worldbody>
    <light name="sun" directional="true" pos="0 0 20" dir="-0.3 -0.2 -1" castshadow="false"
           diffuse="0.6 0.6 0.6"/>
    <geom name="ground" type="plane" size="60 60 4" rgba="0.45 0.52 0.36 1" friction="0.5 0.005 0.0001"
          {_WORLD}/>
    <geom name="pile" type="ellipsoid" size="2.5 2.5 1.4" pos="12 0 0" rgba="0.55 0.5 0.45 1" {_VISUAL}/>
    <camera name="overview" mode="fixed" pos="5.5 0 22" xyaxes="0 -1 0 1 0 0" fovy="62"/>

    <body name="truck" pos="5.5 10 0">
      <geom name="truck_chassis" type="box" size="{TRUCK_BED_HALF[0]} {TRUCK_BED_HALF[1]} 0.5" pos="0 0 0.8"
            rgba="0.25 0.25 0.3 1" {_WORLD}/>
      <geom name="truck_bed" type="box" size="{TRUCK_BED_HALF[0]} {TRUCK_BED_HALF[1]} 0.02"
            pos="0 0 {TRUCK_BED_FLOOR}" rgba="0.8 0.55 0.1 1" {_VISUAL}/>
      <geom name="truck_wall_l" type="box" size="{TRUCK_BED_HALF[0]} 0.05 0.25"
            pos="0 {TRUCK_BED_HALF[1]} {TRUCK_RIM - 0.25}" rgba="0.85 0.6 0.1 1" {_WORLD}/>
      <geom name="truck_wall_r" type="box" size="{TRUCK_BED_HALF[0]} 0.05 0.25"
            pos="0 {-TRUCK_BED_HALF[1]} {TRUCK_RIM - 0.25}" rgba="0.85 0.6 0.1 1" {_WORLD}/>
      <geom name="truck_wall_back" type="box" size="0.05 {TRUCK_BED_HALF[1]} 0.25"
            pos="{-TRUCK_BED_HALF[0]} 0 {TRUCK_RIM - 0.25}" rgba="0.85 0.6 0.1 1" {_WORLD}/>
      <geom name="truck_cab" type="box" size="0.8 1.2 1.1" pos="{TRUCK_BED_HALF[0] + 0.9} 0 1.4"
            rgba="0.7 0.1 0.1 1" {_WORLD}/>
      <geom name="truck_load" type="box" size="{TRUCK_BED_HALF[0] - 0.1} {TRUCK_BED_HALF[1] - 0.1} 0.01"
            pos="0 0 {TRUCK_BED_FLOOR + 0.01}" rgba="0.55 0.5 0.45 1" {_VISUAL}/>
    </body>

    <body name="rear" pos="0 0 {HINGE_HEIGHT}">
      <freejoint name="root"/>
      <inertial pos="-1.3 0 0.5" mass="{REAR_MASS}" diaginertia="3500 9000 10000"/>
      <geom type="box" size="1.3 0.9 0.45" pos="-1.6 0 0.45" rgba="0.95 0.75 0.1 1" {_MACHINE}/>
      <geom type="box" size="0.55 0.65 0.7" pos="-0.7 0 1.6" rgba="0.2 0.25 0.3 1" {_VISUAL}/>
      <geom type="box" size="0.3 0.95 0.4" pos="-3.0 0 0.3" rgba="0.3 0.3 0.3 1" {_VISUAL}/>
      {wheels_rear}
      <body name="front" pos="0 0 0">
        <joint name="artic" type="hinge" axis="0 0 1" range="{ARTIC_RANGE[0]} {ARTIC_RANGE[1]}" damping="2000"/>
        <inertial pos="1.0 0 0.3" mass="{FRONT_MASS}" diaginertia="1200 2500 2500"/>
        <geom type="box" size="0.9 0.6 0.4" pos="1.1 0 0.25" rgba="0.95 0.75 0.1 1" {_MACHINE}/>
        <camera name="cab" mode="fixed" pos="0.8 0 2.5" xyaxes="{cab_axes}" fovy="90"/>
        {wheels_front}
        <body name="boom" pos="{bx} 0 {bz}">
          <joint name="boom" type="hinge" axis="0 -1 0" range="{BOOM_RANGE[0]} {BOOM_RANGE[1]}" damping="5000"/>
          <inertial pos="{BOOM_LENGTH / 2} 0 0" mass="{BOOM_MASS}" diaginertia="150 900 900"/>
          <geom type="box" size="{BOOM_LENGTH / 2} 0.12 0.15" pos="{BOOM_LENGTH / 2} 0.75 0"
                rgba="0.95 0.75 0.1 1" {_VISUAL}/>
          <geom type="box" size="{BOOM_LENGTH / 2} 0.12 0.15" pos="{BOOM_LENGTH / 2} -0.75 0"
                rgba="0.95 0.75 0.1 1" {_VISUAL}/>
          <body name="bucket" pos="{BOOM_LENGTH} 0 0">
            <joint name="bucket" type="hinge" axis="0 -1 0" range="{BUCKET_RANGE[0]} {BUCKET_RANGE[1]}"
                   damping="2000"/>
            <inertial pos="0.35 0 -0.35" mass="{BUCKET_MASS}" diaginertia="600 300 600"/>
            <geom name="bucket_floor" type="box" size="{(lip_x + 0.2) / 2} {bhw} 0.04"
                  pos="{(lip_x - 0.2) / 2} 0 {lip_z}" rgba="0.35 0.35 0.35 1" friction="0.4 0.005 0.0001"
                  {_MACHINE}/>
            <geom name="bucket_back" type="box" size="0.04 {bhw} 0.5" pos="-0.2 0 {lip_z + 0.5}"
                  rgba="0.35 0.35 0.35 1" friction="0.4 0.005 0.0001" {_MACHINE}/>
            <geom type="box" size="{(lip_x + 0.2) / 2} 0.04 0.3" pos="{(lip_x - 0.2) / 2} {bhw} {lip_z + 0.3}"
                  rgba="0.35 0.35 0.35 1" {_VISUAL}/>
            <geom type="box" size="{(lip_x + 0.2) / 2} 0.04 0.3" pos="{(lip_x - 0.2) / 2} {-bhw} {lip_z + 0.3}"
                  rgba="0.35 0.35 0.35 1" {_VISUAL}/>
            <geom name="payload" type="box" size="0.5 {bhw - 0.06} 0.01" pos="0.35 0 {lip_z + 0.05}"
                  rgba="0.55 0.5 0.45 0" {_VISUAL}/>
            <site name="lip" pos="{lip_x} 0 {lip_z}" size="0.05"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    {_hydraulic("steer", "artic", STEER_RATE, ARTIC_RANGE, kp=2.0e6, kv=1.0e5, force=3.0e5)}
    {_hydraulic("boom", "boom", BOOM_RATE, BOOM_RANGE, kp=2.0e7, kv=1.0e6, force=5.0e5)}
    {_hydraulic("bucket", "bucket", BUCKET_RATE, BUCKET_RANGE, kp=5.0e6, kv=2.0e5, force=2.0e5)}
    {drives}
  </actuator>
</mujoco>
"""

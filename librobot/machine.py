"""The machine a figure came from: CPU model, the ISA extensions kernels choose by, load, versions.

Latency and int8 speed differ several-fold between an AVX2 CPU and an AVX-512/VNNI/AMX one, and
between an idle machine and a busy one, so every benchmark prints and stores this beside its figures.
"""

from __future__ import annotations

import os
import platform
from typing import Any

# the extensions that decide which float and int8 kernels torch and ONNX Runtime run
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, list[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:  # not Linux: the platform string is all there is
        pass
    return model, [flag for flag in ISA_FLAGS if flag in flags]


def machine_info() -> dict[str, Any]:
    model, flags = cpu_model_and_flags()
    info: dict[str, Any] = {
        "cpu_model": model,
        "isa": flags,
        "cpu_count": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One line for a terminal: ``Intel Xeon ... | avx2 avx512f ... | 2 cpus, load 0.31 0.20 0.15``."""
    info = info or machine_info()
    load = " ".join(f"{x:.2f}" for x in info["load_avg"])
    kernels = f", torch kernels {info['torch_cpu_capability']}" if "torch_cpu_capability" in info else ""
    return (
        f"{info['cpu_model']} | {' '.join(info['isa']) or 'no AVX2'} | {info['cpu_count']} cpus, load {load}{kernels}"
    )

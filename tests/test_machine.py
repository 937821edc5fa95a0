"""The machine line benchmarks print beside their figures."""

from librobot.machine import ISA_FLAGS, machine_info, machine_line


def test_machine_info_names_the_cpu_its_kernel_extensions_and_load():
    info = machine_info()
    assert info["cpu_model"] and info["cpu_count"] >= 1 and len(info["load_avg"]) == 3
    assert set(info["isa"]) <= set(ISA_FLAGS)
    assert info["torch_cpu_capability"]  # what torch dispatches to: AVX2 or AVX512 on x86
    line = machine_line(info)
    assert info["cpu_model"] in line and f"{info['cpu_count']} cpus" in line


def test_machine_line_says_when_no_avx2_was_found():
    info = {"cpu_model": "Some CPU", "isa": [], "cpu_count": 2, "load_avg": [0.0, 0.0, 0.0]}
    assert machine_line(info) == "Some CPU | no AVX2 | 2 cpus, load 0.00 0.00 0.00"

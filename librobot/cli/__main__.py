"""``python -m librobot.cli ...``: the same command line as ``librobot ...``.

``accelerate launch -m librobot.cli train ...`` (multi-GPU training, the Kubeflow train component)
starts the CLI this way.
"""

from librobot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

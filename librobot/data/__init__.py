"""Datasets: LeRobot v3 read/write (``lerobot_v3``), the torch dataset (``dataset``), global stats
(``stats``), the ``Normalizer`` (``normalizer``), bad-input checks (``checks``), HDF5 import
(``hdf5_import``), transforms (``transforms``) and the DVC md5 of a dataset (``versioning``).

Nothing heavy is imported here: ``import librobot`` stays fast.
"""

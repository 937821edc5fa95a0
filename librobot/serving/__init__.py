"""Serving: the BentoML service, the gRPC server and the packaging of a bundle as a BentoML model."""

DEFAULT_MODEL_NAME = "librobot-policy"  # the BentoML model `librobot package` writes and the servers load

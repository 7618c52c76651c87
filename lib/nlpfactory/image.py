"""The container image every component runs in and `nlpfactory serve` is deployed with, set
in one place (components and the KServe manifest both read it).

Override with NLPFACTORY_IMAGE when compiling for your own registry; `make image` builds it
from docker/Dockerfile.
"""

import os

IMAGE = os.environ.get("NLPFACTORY_IMAGE", "ghcr.io/nlpfactory/nlpfactory:0.1.0")

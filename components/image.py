"""The container image every component runs in: defined in nlpfactory.image, so the KServe
manifest written by the export names the same image."""

from nlpfactory.image import IMAGE

__all__ = ["IMAGE"]

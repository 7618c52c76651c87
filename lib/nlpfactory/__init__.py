"""nlpfactory: turn big Chinese language models into small, fast, deployable ones."""

__version__ = "0.1.0"

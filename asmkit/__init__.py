"""asmkit: a local simulator and conformance kit for Anypoint Service Mesh adapters."""

__version__ = "0.1.0"

__all__ = ["__version__"]

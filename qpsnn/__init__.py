"""qpsnn: compressed spiking neural networks (QP-SNN) to verified FPGA accelerators."""

__version__ = "0.1.0"

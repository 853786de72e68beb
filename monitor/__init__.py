"""bonemon: bone-health monitoring scheduler for women with breast cancer on aromatase inhibitors."""

__version__ = "0.1.0"

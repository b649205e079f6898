"""weighbridge: OpenStack Nova's filter scheduler as a Kubernetes scheduler extender."""

__version__ = "0.1.0"

"""The embedded local cloud: moto for the control plane, our providers for what must really run.

Nothing outside this package knows that a target is local, except the session factory and URL
resolution in ``mysfits_lab.lab``.
"""

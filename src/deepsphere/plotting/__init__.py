"""Figures: one module per experiment (``plotting.sphere``: equivariance, kernel widths, speed)."""

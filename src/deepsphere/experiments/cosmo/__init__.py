"""Cosmology: two cosmologies from partial convergence maps (ICLR 2020 Table 2, Perraudin 2019)."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "Cosmo"

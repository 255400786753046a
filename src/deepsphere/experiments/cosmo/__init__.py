"""Cosmology: two cosmologies from partial convergence maps (ICLR 2020 Table 2, Perraudin 2019)."""

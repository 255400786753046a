"""GHCN-Daily: regression on the irregular graph of weather stations (ICLR 2020 Table 8)."""

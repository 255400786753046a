"""GHCN-Daily: regression on the irregular graph of weather stations (ICLR 2020 Table 8)."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "GHCN"

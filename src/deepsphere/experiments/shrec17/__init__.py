"""SHREC'17 shape retrieval (ICLR 2020 Table 1 and Table 4; tf1-spec §2.5)."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "SHREC'17"

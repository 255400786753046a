"""SHREC'17 shape retrieval (ICLR 2020 Table 1 and Table 4; tf1-spec §2.5)."""

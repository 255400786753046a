"""Climate: segmentation of tropical cyclones (TC) and atmospheric rivers (AR) on the level-5 icosphere (ICLR 2020 Tables 3, 5-7)."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "Climate"

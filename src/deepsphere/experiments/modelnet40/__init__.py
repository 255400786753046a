"""ModelNet40 classification under rotations (tf1-spec §2.4; the ICLR paper's unpublished table)."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "ModelNet40"

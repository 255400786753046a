"""ModelNet40 classification under rotations (tf1-spec §2.4; the ICLR paper's unpublished table)."""

"""How work runs on this machine: thread counts, timing a call, the hardware label."""

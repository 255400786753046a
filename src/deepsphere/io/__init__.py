"""Files in and out: atomic writes, archives, input validation and checksummed downloads."""

"""The sphere study: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed."""

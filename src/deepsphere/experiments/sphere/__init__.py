"""The sphere study: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed."""

#: The display name: report category and summary section (deepsphere.reporting.summary).
TITLE = "Sphere study"

"""Widgets the screens share: charts, next-token bars, colour swatches, the sample view."""

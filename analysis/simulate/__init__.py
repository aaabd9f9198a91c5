"""Synthetic cohorts calibrated to published designs (never passed off as real data)."""

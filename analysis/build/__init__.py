"""Building the book: staging its sources, executing the claim notebooks, the generated pages
(data dictionary, reproducibility, citation, title page) and atomic publishing.

Imports downward only: build -> claims, stats, io; nothing below imports build.
"""

"""The SKM report: one data object (data.py) and its renderers (pdf.py, xlsx.py)."""

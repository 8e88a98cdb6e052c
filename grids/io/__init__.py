"""Bulk import and export of households and residents (CSV/XLSX).

- ``columns``: the one column spec shared by import, export and the help text;
- ``reader``: a CSV or XLSX file → rows of text cells (encodings, Excel's numbers);
- ``importing``: validate every row, then upsert in one transaction;
- ``exporting``: households under a unit → XLSX, streamed.
"""

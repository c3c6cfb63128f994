"""The Streamlit app's glue: engine menu, cached resources, sidebar, records and exports.

Only the app imports this package; it joins :mod:`geo` and :mod:`sites` (which never import each
other's callers). Pages stay thin: read widgets, call these helpers and ``geo``, render.
"""

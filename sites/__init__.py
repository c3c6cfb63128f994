"""Site sets: study sites (and candidate sites) as GeoDataFrames in EPSG:4326."""

from sites.registry import SCHEMA_COLUMNS, SiteSet, builtin_site_sets, load_site_set, read_site_file

__all__ = ["SCHEMA_COLUMNS", "SiteSet", "builtin_site_sets", "load_site_set", "read_site_file"]

"""OpenStreetMap data for road graphs: Geofabrik's US extracts, fetched, verified and clipped.

One concern per module:

- :mod:`geo.osm.geofabrik`: the index of extracts (``data/geofabrik/us_states.csv``) and the US
  state shapes;
- :mod:`geo.osm.plan`: which extracts a site set needs (the reach of every site);
- :mod:`geo.osm.download`: resumable downloads verified against Geofabrik's ``.md5``;
- :mod:`geo.osm.clip`: the roads within reach, cut out of an extract with pyosmium;
- :mod:`geo.osm.sitegraph`: the whole pipeline for a site set, ending in
  :func:`geo.routing.graph.build_graph`;
- :mod:`geo.osm.progress`: progress events and disk errors shared by the steps.

The submodules are imported explicitly (``from geo.osm.plan import plan_extracts``) so that
importing one step does not load them all.
"""

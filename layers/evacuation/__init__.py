"""Evacuation and emergency access: networks from roads (network, snap), the routing graph and its costs
(graph), shelters, the capacity-aware assignment (assign), routes, catchments and drive-time access (access),
the build step (step) and ``geoapp evacuate`` from files (files)."""

"""PE lesson analytics: activity codes, exercise density, heart rate, station repetitions, falls.

:class:`edge.metrics.pe.engine.PEEngine` is the MetricEngine; :func:`edge.metrics.pe.stations.refine_station_people`
is the perception hook that refines station occupants top-down.
"""

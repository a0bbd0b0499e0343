"""Adapters every app uses: the object store, Prometheus metrics, traces.

Not a Django app (no models): the bottom layer, importing none of the apps.
"""

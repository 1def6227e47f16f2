"""Provider adapters: one module per hosted API plus the offline sketch renderer.

They share the small protocol in `base`; `registry.build_provider` is the only place that picks
a concrete adapter for a provider name.
"""

"""The web layer: JSON API, HTML pages and live streams, all on top of the store and hub ports."""

"""hatch-meadow: TLS client credentials for Wilderness Labs Meadow boards, as a hatchling build hook."""

__version__ = "0.1.0"

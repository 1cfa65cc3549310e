"""The sample application of the demo and the tests: `python -m bluegreen.sampleapp.app`.

`deploy.py` is its deploy command (`python -m bluegreen.sampleapp.deploy HOST PORT RELEASE COLOR`).
Shipped inside the package so that `bluegreen demo` works from an installed wheel.
"""

"""The simulated Scenario API (see `app.Simulator`)."""

from batchgen.simulator.app import Simulator
from batchgen.simulator.faults import DroppedConnection

__all__ = ["Simulator", "DroppedConnection"]

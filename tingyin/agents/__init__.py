"""Agents: their skills and extension, their states (ready, not ready, on a call …) and the
queue configuration the ACD routes calls with."""

"""Tests of the provider client, which knows nothing of Home Assistant."""

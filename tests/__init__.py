"""Tests of the TwSMS Voice integration, its client and the simulator."""

"""The workflows behind :mod:`trialreach.api`, one module per concern."""

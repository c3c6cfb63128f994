"""The trialreach command line: joins :mod:`geo` and :mod:`sites`."""

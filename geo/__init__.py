"""trialreach geo core: rules, geocoding, routing engines and drive-time verdicts.

Nothing in this package imports :mod:`sites`; the command line and the app join the two.
"""

__version__ = "0.1.0"

"""Disaggregation (pure: no Flask, no Redis): Gridlight's estimates of appliance channels (AC,
Geyser, HeaterAC, ...) for homes that have only a whole-house ``Overall`` meter.

* :class:`Disaggregator` — trained where a sub-meter exists (``Disaggregator.fit``), applied
  to the whole-house series of this or another household (``estimate``), saved with a JSON
  header (``save``/``load``/:func:`read_header`); ``predict_tail`` is the live entry point.
* :func:`evaluate` / :func:`scores` — on/off F1, ``mae_w`` and energy-share error on a period
  the model never saw, beside the baselines of :mod:`server.nilm.baselines`.
* :func:`apply_to_dataset` — writes a dataset whose appliance column is the estimate, marked
  ``estimated`` in ``households.json``.
"""

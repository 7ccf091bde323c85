"""The applications built on the library, apart from it: the ``minirnn`` command and what it runs.

- :mod:`.cli`: the ``minirnn`` command; :mod:`.sweep_command` its ``sweep``.
- :mod:`.tutorials`: the Keras stock-price tutorials, beside their baselines.
- :mod:`.longrange`: training runs on the long-range memory tasks; Arjovsky et al.'s comparison.
- :mod:`.probe`: gradient-flow experiments.
- :mod:`.experiments`: the built-in experiments a sweep names (task, ibm, changes).
- :mod:`.plotting`: their figures.

They use the library's public interfaces (``minirnn.Sequential``, the layers, ``tasks``,
``diagnostics``, ``sweep``, ``data``); nothing in the library imports them, but for
:func:`minirnn.sweep.run`, which looks up the built-in experiments by name here.
"""

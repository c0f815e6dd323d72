"""The parts papers share: losses, regularisers and network blocks.

Everything here is used by paper modules only (the harness never imports it), and the registry never
names a module in this package: a registry entry's `reproduction.module` is a paper module one level
below `reproductions/`. A piece of a paper moves here when a second paper needs it.
"""

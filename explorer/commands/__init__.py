"""The sub-commands of ``repo-explorer``, one module each.

:mod:`explorer.cli` builds the argument parser, registers each sub-command's ``cmd_*`` function
and turns errors into exit statuses; the work of a sub-command lives here:

==============  ==========================================
inventory       :mod:`explorer.commands.inventory`
exposure        :mod:`explorer.commands.exposure`
cutout          :mod:`explorer.commands.cutout`
histogram       :mod:`explorer.commands.histogram`
skymap          :mod:`explorer.commands.skymap`
make-sample     :mod:`explorer.commands.make_sample`
serve           :mod:`explorer.commands.serve`
==============  ==========================================

What they share (JSON output, plain text for a person, ``--data-id`` parsing, the usage error)
is in :mod:`explorer.commands.common`. This package is an entry point, the top layer of
shared/DESIGN.md: it may import any layer below it, and nothing below imports it.
"""

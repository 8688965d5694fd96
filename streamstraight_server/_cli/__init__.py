"""The parts of the ``streamstraight`` command; the entry point is ``streamstraight_server.cli``."""
